"""Configuration of a vision-language backend and its class prompts.

A :class:`VLMConfig` names the backend kind, where its weights are (a local
directory / file or a Hugging Face repo id resolved in the local cache only)
and the prompt-template file that turns class names into texts.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence

from vg4d_core.config import ConfigError, load_config, read_yaml
from vg4d_core.paths import resolve_config

BackendKind = Literal["xclip", "open_clip"]


@dataclass
class VLMConfig:
    """Which vision-language model to load, and how to prompt it.

    Fields:
        backend: ``xclip`` (transformers' XCLIPModel) or ``open_clip``.
        model: a local directory (``save_pretrained`` output for X-CLIP, a
            folder holding ``open_clip_config.json`` + weights for open_clip),
            a local weights file (open_clip, together with ``arch``), or a
            Hugging Face repo id, looked up in the local cache only
            (open_clip ids may carry the ``hf-hub:`` prefix).
        arch: open_clip model-config name (e.g. ``ViT-B-16``); only needed
            when ``model`` is a bare weights file.
        revision: optional Hugging Face revision (branch, tag or commit).
        cache_dir: Hugging Face cache to search (default: the hub's own,
            ``$HF_HUB_CACHE`` / ``~/.cache/huggingface/hub``).
        num_frames: frames per clip T; ``None`` takes the model's own (X-CLIP's
            ``vision_config.num_frames``; open_clip has none, so 8, the
            paper's VLM input length).
        prompts: YAML file with ``templates: [..., "... {} ..."]``; a path or
            a name relative to the config directory.
    """

    backend: BackendKind = "xclip"
    model: str = "microsoft/xclip-base-patch16-kinetics-600"
    arch: str | None = None
    revision: str | None = None
    cache_dir: str | None = None
    num_frames: int | None = None
    prompts: str = "vlm/prompts.yaml"

    def __post_init__(self) -> None:
        if self.num_frames is not None and self.num_frames < 1:
            raise ConfigError(f"num_frames: must be >= 1, got {self.num_frames}")
        if not self.model:
            raise ConfigError("model: must name a local path or a Hugging Face repo id")


def load_vlm_config(path: str | Path, overrides: Sequence[str] = ()) -> VLMConfig:
    """Read a :class:`VLMConfig` from YAML (path or name under ``config/``)."""
    return load_config(VLMConfig, resolve_config(path), overrides)


def load_prompt_templates(path: str | Path) -> list[str]:
    """Prompt templates from a YAML file ``templates: [str, ...]``.

    Each template holds exactly one ``{}``, where the class name goes.
    ``path`` is a file path or a name relative to the config directory.
    """
    resolved = resolve_config(path)
    data = read_yaml(resolved)
    unknown = sorted(set(data) - {"templates"})
    if unknown:
        raise ConfigError(f"{resolved}: unknown key(s) {unknown}; valid keys: ['templates']")
    templates = data.get("templates")
    if not isinstance(templates, list) or not templates:
        raise ConfigError(f"{resolved}: templates: expected a non-empty list of strings, got {templates!r}")
    for i, t in enumerate(templates):
        if not isinstance(t, str) or t.count("{}") != 1:
            raise ConfigError(f"{resolved}: templates[{i}]: {t!r} must be a string with exactly one '{{}}'")
    return list(templates)


def class_prompts(class_names: Sequence[str], templates: Sequence[str]) -> list[list[str]]:
    """The M x K prompt texts: ``out[m][k] = templates[m].format(class_names[k])``."""
    if not class_names:
        raise ValueError("class_prompts: class_names is empty")
    if not templates:
        raise ValueError("class_prompts: templates is empty")
    return [[t.format(name) for name in class_names] for t in templates]
