"""Offline resolution of a model reference to files on this machine.

Weights are never downloaded at run time. A reference is a local path, or a
Hugging Face repo id looked up in the local hub cache only
(``local_files_only=True``). When nothing is found the error names the id,
every place searched and the one command that fetches it on a connected
machine.
"""
from __future__ import annotations

import os
from pathlib import Path


class ModelNotFoundError(FileNotFoundError):
    """The model's files are neither at the given path nor in the local HF cache."""


def hub_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """The Hugging Face hub cache searched (``cache_dir`` or the hub's default)."""
    if cache_dir is not None:
        return Path(cache_dir)
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def fetch_command(repo_id: str) -> str:
    """The command that puts ``repo_id`` into the HF cache on a connected machine."""
    return f"hf download {repo_id}"


def resolve_model_dir(model: str, *, cache_dir: str | None = None, revision: str | None = None,
                      required: tuple[str, ...] = ()) -> Path:
    """A local directory holding ``model``'s files.

    Args:
        model: a directory path, or a Hugging Face repo id (``org/name``,
            an ``hf-hub:`` prefix is dropped).
        cache_dir: hub cache to search (default :func:`hub_cache_dir`).
        revision: branch, tag or commit in the cache (default ``main``).
        required: file names that must exist in the directory.

    Raises:
        ModelNotFoundError: naming the id, the local path and cache searched,
            and the ``hf download`` command that fetches it.
    """
    local = Path(model).expanduser()
    repo_id = model[len("hf-hub:"):] if model.startswith("hf-hub:") else model
    if local.is_dir():
        found = local
    else:
        found = None
        if _looks_like_repo_id(repo_id):
            from huggingface_hub import snapshot_download
            from huggingface_hub.errors import LocalEntryNotFoundError

            try:
                found = Path(snapshot_download(repo_id, revision=revision, cache_dir=cache_dir,
                                               local_files_only=True))
            except (LocalEntryNotFoundError, FileNotFoundError, ValueError):
                found = None
        if found is None:
            hint = (f"fetch it once on a connected machine with `{fetch_command(repo_id)}`"
                    + (f" (add --cache-dir {cache_dir})" if cache_dir else "")
                    + ", or point `model` at a local copy") if _looks_like_repo_id(repo_id) else \
                "point `model` at an existing directory or a Hugging Face repo id"
            raise ModelNotFoundError(
                f"model {model!r} not found: no local directory {local.resolve()} and no "
                f"snapshot of {repo_id!r} in the Hugging Face cache {hub_cache_dir(cache_dir)} "
                f"(weights are never downloaded at run time); {hint}"
            )
    missing = [name for name in required if not (found / name).is_file()]
    if missing:
        raise ModelNotFoundError(f"model {model!r} at {found} lacks {missing}; is it a complete copy?")
    return found


def _looks_like_repo_id(name: str) -> bool:
    parts = name.split("/")
    return len(parts) == 2 and all(parts) and not name.startswith((".", "/", "~"))
