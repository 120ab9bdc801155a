"""Provenance of every JSON file the project writes: the command, the commit,
the machine. A figure without them cannot be reproduced or compared.

:func:`save_json` is the one writer: it adds ``command``, ``commit`` and
``hardware`` when the payload does not carry them already, and writes
atomically (temporary file + rename), so a killed benchmark never leaves a
half-written result.
"""
from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch


def git_commit() -> str | None:
    """HEAD of the checkout this package runs from (None outside a git checkout)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None
    except Exception:  # git missing or not a checkout: the figure still stands
        return None


def machine_info(device: torch.device | str = "cpu") -> dict[str, Any]:
    """Python/torch versions, platform, CPU count and threads, commit, UTC time (+ GPU name)."""
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "torch": str(torch.__version__),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "commit": git_commit(),
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if torch.device(device).type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def current_command(prog: str = "vg4d") -> str:
    """The command line of this process, as the user would retype it."""
    argv = sys.argv[1:] if sys.argv and sys.argv[0].endswith(("vg4d", "cli.py", "__main__.py")) else sys.argv
    return shlex.join([prog, *argv])


def save_json(path: str | Path, payload: dict[str, Any], *, command: str | None = None,
              device: torch.device | str = "cpu") -> Path:
    """Write ``payload`` as indented JSON with its provenance, atomically.

    ``command`` (default: this process's command line), ``hardware``
    (:func:`machine_info` of ``device``) and ``commit`` are added unless the
    payload already has them.
    """
    out = dict(payload)
    if "command" not in out:
        out["command"] = command or current_command()
    if "hardware" not in out:
        out["hardware"] = machine_info(device)
    if "commit" not in out:
        hw = out.get("hardware")
        out["commit"] = hw.get("commit") if isinstance(hw, dict) else git_commit()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(out, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
