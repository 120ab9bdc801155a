"""Vision-language backends (X-CLIP, open_clip) behind one interface.

See :mod:`vg4d_core.vlm.base` for which embedding each score and loss uses.
open_clip is optional: ``OpenCLIPBackend`` imports it only when built.
"""
from vg4d_core.vlm.base import BackendMismatchError, TextBank, VideoEncoding, VLMBackend, ensemble_unit
from vg4d_core.vlm.classifier import VLMClassifier
from vg4d_core.vlm.config import VLMConfig, class_prompts, load_prompt_templates, load_vlm_config
from vg4d_core.vlm.factory import backend_from_state_dict, build_backend
from vg4d_core.vlm.loading import ModelNotFoundError, fetch_command, hub_cache_dir, resolve_model_dir
from vg4d_core.vlm.openclip import OpenCLIPBackend
from vg4d_core.vlm.preprocess import PreprocessSpec, preprocess_frames
from vg4d_core.vlm.xclip import XCLIPBackend

__all__ = [
    "BackendMismatchError", "ModelNotFoundError", "OpenCLIPBackend", "PreprocessSpec", "TextBank",
    "VLMBackend", "VLMClassifier", "VLMConfig", "VideoEncoding", "XCLIPBackend", "backend_from_state_dict",
    "build_backend", "class_prompts", "ensemble_unit", "fetch_command", "hub_cache_dir",
    "load_prompt_templates", "load_vlm_config", "preprocess_frames", "resolve_model_dir",
]
