"""How much the thread count changes one training step of the synthetic chain's two trained models.

    python offline/thread_effect.py [results/thread_effect.json]

One batch of 16 synthetic training videos, the same initial weights, forward + backward with 1 and
with 2 torch threads (and 1 again): are logits and gradients bit-identical? The X-CLIP is the
demo's tiny one (config/demo/full.yaml's settings, seed 0). Training amplifies any difference, so
a difference here means different figures at the end of a run.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

from vg4d_core.data.factory import build_split
from vg4d_core.provenance import save_json
from vg4d_core.runtime.architecture import build_point_encoder
from vg4d_core.runtime.collate import collate_clips
from vg4d_core.training.config import load_train_config, resolved_data_dict
from vg4d_core.training.stages import build_stage, stage_arch


def step(make, batch_key, logits_key, batch, loss_of):
    out = {}
    for label, threads in (("a", 1), ("b", 2), ("c", 1)):
        torch.set_num_threads(threads)
        torch.manual_seed(0)
        model, objective = make()
        model.train()
        o = model(batch[batch_key])
        loss_of(o, objective).backward()
        grads = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
        out[label] = (o[logits_key].detach().clone(), grads)
    (la, ga), (lb, gb), (lc, gc) = out["a"], out["b"], out["c"]
    return {"1_thread_twice_bit_identical": bool(torch.equal(la, lc) and torch.equal(ga, gc)),
            "1_vs_2_threads_bit_identical": bool(torch.equal(la, lb) and torch.equal(ga, gb)),
            "max_abs_logit_difference": float((la - lb).abs().max()),
            "max_gradient_difference_relative": float((ga - gb).abs().max() / ga.abs().max())}


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    out = args[0] if args else "results/thread_effect.json"
    import tempfile

    from vg4d_core.vlm.tiny import write_tiny_xclip

    xclip = write_tiny_xclip(Path(tempfile.mkdtemp()) / "xclip", frames=8, image=64, dim=32, patch=16, width=64,
                             layers=2, seed=0)
    pre = load_train_config("synthetic_pretrain")
    ds = build_split(resolved_data_dict(pre), "train")
    batch = collate_clips([ds[i] for i in range(16)])
    point = step(lambda: (build_point_encoder(stage_arch(pre, 8)), None), "points", "logits", batch,
                 lambda o, _: torch.nn.functional.cross_entropy(o["logits"], batch["label"]))
    vlm_cfg = load_train_config("synthetic_vlm", [f"vlm_overrides.model={xclip}"])
    vds = build_split(resolved_data_dict(vlm_cfg), "train")
    vbatch = collate_clips([vds[i] for i in range(16)])

    def make_vlm():
        st = build_stage(vlm_cfg, vds)
        return st.model, st.objective

    rgb = step(make_vlm, "rgb", "rgb_logits", vbatch, lambda o, obj: obj(o, vbatch)["loss"])
    result = {"im-PSTNet (pretrain recipe)": point, "tiny X-CLIP (vlm recipe)": rgb, "batch": 16}
    save_json(out, result)
    print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
