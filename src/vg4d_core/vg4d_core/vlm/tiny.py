"""A tiny random-initialised X-CLIP written to a local directory.

For CPU smoke runs of the ``vlm`` and ``crossmodal`` stages and for tests:
nothing is downloaded. The folder is laid out like a user's download (a
``save_pretrained`` model, a CLIP tokenizer, ``preprocessor_config.json``)
so it loads through the same :func:`vg4d_core.vlm.build_backend` path as
the real model. The tokenizer is a character vocabulary (a-z, '.', space
as word ends): class names of the synthetic set and the prompt templates
tokenise without unknown tokens apart from digits and punctuation.

    python -m vg4d_core.vlm.tiny OUT_DIR [--frames 4] [--image 32] [--dim 16]
        [--patch 16] [--width 32] [--layers 2]

The defaults are the smallest model the tests use; the synthetic VG4D chain
(offline/synthetic_vg4d.sh) writes a larger one (finer patches, wider
towers) that can see the few-pixel cup whose colour tells classes apart.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

import torch


def char_tokenizer(folder: Path):
    """A CLIP tokenizer over a 56-token character vocabulary, written to ``folder`` (nothing downloaded)."""
    from transformers import CLIPTokenizer

    chars = list("abcdefghijklmnopqrstuvwxyz.")
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": len(chars) + i for i, c in enumerate(chars)})
    # highest ids last: X-CLIP's legacy pooling takes the argmax id as end-of-text
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))


def write_tiny_xclip(folder: str | Path, *, frames: int = 4, image: int = 32, dim: int = 16, seed: int = 0,
                     patch: int = 16, width: int = 32, layers: int = 2,
                     mean: Sequence[float] = (0.5, 0.5, 0.5), std: Sequence[float] = (0.25, 0.25, 0.25)) -> Path:
    """Write a random X-CLIP (``layers``-layer towers of width ``width``, MLP
    2 x width, 2 heads; ``dim``-d embeddings; ``frames`` frames of ``image`` x
    ``image`` pixels cut into ``patch`` x ``patch`` patches) to ``folder``.

    Deterministic in ``seed``. Returns the folder (usable as ``VLMConfig.model``).
    """
    from transformers import XCLIPConfig, XCLIPModel

    for name, value in (("patch", patch), ("width", width), ("layers", layers), ("dim", dim), ("frames", frames)):
        if value < 1:
            raise ValueError(f"write_tiny_xclip: {name} must be >= 1, got {value}")
    if image % patch:
        raise ValueError(f"write_tiny_xclip: image must be a multiple of the patch size {patch}, got {image}")
    if width % 2 or dim % 2:
        raise ValueError(f"write_tiny_xclip: width and dim must be even (2 attention heads), got {width}, {dim}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    cfg = XCLIPConfig(
        text_config=dict(vocab_size=56, hidden_size=width, intermediate_size=2 * width, num_hidden_layers=layers,
                         num_attention_heads=2, max_position_embeddings=64),
        vision_config=dict(hidden_size=width, intermediate_size=2 * width, num_hidden_layers=layers,
                           num_attention_heads=2, image_size=image, patch_size=patch, num_frames=frames,
                           # the MIT works in the projection space: mit_hidden_size == projection_dim
                           mit_hidden_size=dim, mit_intermediate_size=2 * dim, mit_num_hidden_layers=1,
                           mit_num_attention_heads=2),
        projection_dim=dim, prompt_layers=1, prompt_num_attention_heads=2,
    )
    model = XCLIPModel(cfg).eval()
    model.save_pretrained(folder)
    char_tokenizer(folder).save_pretrained(folder)
    (folder / "preprocessor_config.json").write_text(json.dumps({
        "image_processor_type": "VideoMAEImageProcessor", "size": {"shortest_edge": image},
        "crop_size": {"height": image, "width": image}, "do_center_crop": True,
        "image_mean": list(mean), "image_std": list(std), "resample": 2,
    }), encoding="utf-8")
    return folder


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m vg4d_core.vlm.tiny", description=write_tiny_xclip.__doc__)
    p.add_argument("out")
    p.add_argument("--frames", type=int, default=4)
    p.add_argument("--image", type=int, default=32)
    p.add_argument("--dim", type=int, default=16)
    p.add_argument("--patch", type=int, default=16)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    try:
        out = write_tiny_xclip(a.out, frames=a.frames, image=a.image, dim=a.dim, seed=a.seed,
                               patch=a.patch, width=a.width, layers=a.layers)
    except ValueError as exc:
        p.error(str(exc))
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
