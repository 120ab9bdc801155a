"""im-PSTNet: configs, per-stage shapes, heads, gradients, batch sizes, autocast, compile, GPU."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from vg4d_core.config import ConfigError, from_dict, to_dict
from vg4d_core.models import IMPSTNet, IMPSTNetConfig, LayerConfig, load_model_config
from vg4d_core.models.cost import clip_macs, stage_costs

CONFIGS = ["ntu", "msr", "lite", "pstnet_ntu", "pstnet_msr"]


def tiny_config(**overrides) -> IMPSTNetConfig:
    """Two stages, 5 frames x 32 points: fast enough for autocast/compile tests."""
    fields = dict(
        name="tiny", frames=5, points=32, radius=0.3, neighbours=4,
        layers=[LayerConfig(8, 12, spatial_stride=2),
                LayerConfig(12, 16, radius_scale=2, temporal_kernel=3, temporal_stride=2,
                            temporal_padding=(1, 1))],
    )
    fields.update(overrides)
    return IMPSTNetConfig(**fields)


def _clip(b, frames, n, seed=0):
    gen = torch.Generator().manual_seed(seed)
    xyz = torch.rand(b, frames, n, 3, generator=gen)
    return xyz + torch.linspace(0, 0.2, frames)[None, :, None, None]


def _stage_shapes(model: IMPSTNet, xyz: torch.Tensor) -> list[tuple[int, int]]:
    shapes = []
    hooks = [layer.register_forward_hook(lambda _m, _i, out: shapes.append(tuple(out[1].shape[1:3])))
             for layer in model.layers]
    with torch.no_grad():
        model.eval()(xyz)
    for h in hooks:
        h.remove()
    return shapes


@pytest.mark.parametrize("name", CONFIGS)
def test_shipped_configs_load_and_round_trip(name):
    cfg = load_model_config(name)
    assert cfg.name == name
    assert from_dict(IMPSTNetConfig, to_dict(cfg)) == cfg
    assert load_model_config(f"config/model/{name}.yaml") == cfg


def test_ntu_stage_frames_and_points():
    cfg = load_model_config("ntu")
    assert (cfg.frames, cfg.points) == (23, 2048)
    assert cfg.layer_shapes() == [(23, 1024), (11, 512), (9, 512), (4, 256), (2, 256), (2, 128)]
    # the real network on a thinner clip: the same frame counts, points / 32 as well
    model = IMPSTNet(load_model_config("ntu", ["points=64"]), num_classes=60)
    assert _stage_shapes(model, _clip(1, 23, 64)) == [(23, 32), (11, 16), (9, 16), (4, 8), (2, 8), (2, 4)]


def test_msr_stage_frames_and_points():
    cfg = load_model_config("msr")
    assert (cfg.frames, cfg.points) == (24, 2048)
    assert [f for f, _ in cfg.layer_shapes()] == [24, 12, 12, 6, 6, 6]
    assert [p for _, p in cfg.layer_shapes()] == [1024, 512, 512, 256, 256, 128]
    model = IMPSTNet(load_model_config("msr", ["points=64"]), num_classes=20)
    assert _stage_shapes(model, _clip(1, 24, 64)) == [(24, 32), (12, 16), (12, 16), (6, 8), (6, 8), (6, 4)]


def test_configs_state_their_units_and_layer_style():
    ntu, msr, lite = (load_model_config(n) for n in ("ntu", "msr", "lite"))
    assert ntu.radius == pytest.approx(0.1 / 1.53, abs=1e-3)  # metres for PSTNet's 0.1
    assert msr.radius == 0.5 and msr.neighbours == 9  # PSTNet's MSR-Action3D setting
    for cfg in (ntu, msr, lite):
        assert cfg.normalize_displacement and cfg.anchor_feature and cfg.temporal_fusion == "sum"
    assert msr.padding_mode == "replicate" and any(sum(l.temporal_padding) for l in msr.layers)
    assert lite.points <= 512 and lite.out_channels < ntu.out_channels
    # the lite architecture describes the clip its recipe trains on (frames and points per frame)
    from vg4d_core.training.config import load_train_config, resolved_data_dict

    lite_data = resolved_data_dict(load_train_config("msr_action3d_lite"))
    assert (lite.frames, lite.points) == (lite_data["num_frames"], lite_data["points_per_frame"]) == (12, 256)


def test_config_errors_name_the_problem(tmp_path):
    with pytest.raises(ConfigError, match="temporal_kernel must be odd"):
        LayerConfig(8, 8, temporal_kernel=2)
    with pytest.raises(ConfigError, match="radius must be > 0"):
        tiny_config(radius=0.0)
    with pytest.raises(ConfigError, match="spatial_pooling must be one of"):
        tiny_config(spatial_pooling="median")
    with pytest.raises(ConfigError, match="leaves 0 frames"):
        tiny_config(frames=2, layers=[LayerConfig(8, 8, temporal_kernel=3)])
    with pytest.raises(ConfigError, match="layers must list at least one stage"):
        tiny_config(layers=[])
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['radius_m'\]"):
        load_model_config("lite", ["radius_m=0.1"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("layers:\n  - {mid_channels: 8, out_channels: 8, stride: 2}\n")
    with pytest.raises(ConfigError, match="stride"):
        load_model_config(bad)
    with pytest.raises(ConfigError, match="model config 'nope' not found"):
        load_model_config("nope")
    assert load_model_config("lite", ["radius=0.25"]).radius == 0.25


def test_forward_outputs_and_heads():
    torch.manual_seed(0)
    model = IMPSTNet(tiny_config(), num_classes=7, embed_dim=24)
    out = model(_clip(3, 5, 32))
    assert out["features"].shape == (3, 16)
    assert out["logits"].shape == (3, 7)
    assert out["embedding"].shape == (3, 24) and out["embedding"].dtype == torch.float32
    torch.testing.assert_close(out["embedding"].norm(dim=-1), torch.ones(3))
    # logits and embedding are the heads applied to the pooled features (eval: no dropout)
    model.eval()
    with torch.no_grad():
        out = model(_clip(3, 5, 32))
        torch.testing.assert_close(out["logits"], model.classifier(out["features"]))


def test_features_are_mean_over_points_then_max_over_frames():
    torch.manual_seed(0)
    model = IMPSTNet(tiny_config(), num_classes=3).eval()
    xyz = _clip(2, 5, 32)
    captured = {}
    model.layers[-1].register_forward_hook(lambda _m, _i, out: captured.update(f=out[1]))
    with torch.no_grad():
        feats = model(xyz)["features"]
    torch.testing.assert_close(feats, captured["f"].mean(dim=2).max(dim=1).values)


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    model = IMPSTNet(tiny_config(), num_classes=5, embed_dim=8)
    out = model(_clip(3, 5, 32))
    loss = torch.nn.functional.cross_entropy(out["logits"], torch.tensor([0, 1, 2])) \
        - (out["embedding"] * torch.randn(3, 8)).sum()
    loss.backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("batch", [1, 2, 5])
def test_any_batch_size_gives_per_clip_results(batch):
    torch.manual_seed(0)
    model = IMPSTNet(tiny_config(), num_classes=4).eval()
    xyz = _clip(batch, 5, 32, seed=batch)
    with torch.no_grad():
        logits = model(xyz)["logits"]
        assert logits.shape == (batch, 4)
        torch.testing.assert_close(model(xyz[-1:])["logits"], logits[-1:])


def test_longer_clips_and_more_points_are_accepted():
    model = IMPSTNet(tiny_config(), num_classes=4).eval()
    with torch.no_grad():
        assert model(_clip(1, 9, 50))["logits"].shape == (1, 4)
    assert model.min_frames() == 1  # padding (1, 1) lets a single frame through the k=3 stage


@pytest.mark.parametrize("xyz, exc, match", [
    (torch.zeros(5, 32, 3), ValueError, r"xyz must have shape \(B, T, N, 3\)"),
    (torch.zeros(1, 5, 32, 4), ValueError, r"xyz must have shape \(B, T, N, 3\)"),
    (torch.zeros(1, 5, 32, 3, dtype=torch.int32), TypeError, "floating-point"),
    (torch.zeros(1, 5, 1, 3), ValueError, "subsamples by 2"),
    (torch.zeros(0, 5, 32, 3), ValueError, "holds no clip"),
])
def test_bad_inputs_get_clear_errors(xyz, exc, match):
    model = IMPSTNet(tiny_config(), num_classes=4)
    with pytest.raises(exc, match=match):
        model(xyz)


def test_too_short_clip_names_the_minimum():
    cfg = load_model_config("ntu", ["points=64"])
    model = IMPSTNet(cfg, num_classes=60)
    assert model.min_frames() == 19  # 19 -> 19, 9, 7, 3, 1, 1
    with pytest.raises(ValueError, match="xyz has 18 frames; ntu needs at least 19"):
        model(torch.zeros(1, 18, 64, 3))


def test_constructor_arguments_are_checked():
    with pytest.raises(TypeError, match="IMPSTNetConfig"):
        IMPSTNet(to_dict(tiny_config()), num_classes=3)
    with pytest.raises(ValueError, match="num_classes must be a positive integer"):
        IMPSTNet(tiny_config(), num_classes=0)


def test_bf16_autocast_on_cpu_tracks_float32():
    torch.manual_seed(0)
    model = IMPSTNet(tiny_config(), num_classes=4, embed_dim=16).eval()
    xyz = _clip(2, 5, 32)
    with torch.no_grad():
        ref = model(xyz)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = model(xyz)
    assert low["logits"].dtype == torch.bfloat16
    cos = torch.nn.functional.cosine_similarity(low["embedding"], ref["embedding"], dim=-1)
    assert (cos > 0.98).all(), cos
    model.train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = model(xyz)
    (out["logits"].float().sum() + out["embedding"][:, 0].sum()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_torch_compile_graph_matches_eager():
    """Graph capture around the index search (aot_eager: no C++ build, seconds)."""
    torch.manual_seed(0)
    model = IMPSTNet(tiny_config(), num_classes=4).eval()
    xyz = _clip(2, 5, 32)
    compiled = torch.compile(model, backend="aot_eager")
    with torch.no_grad():
        torch.testing.assert_close(compiled(xyz)["logits"], model(xyz)["logits"])


@pytest.mark.slow
def test_torch_compile_inductor_forward_and_backward_match_eager():
    torch.manual_seed(0)
    model = IMPSTNet(tiny_config(), num_classes=4).eval()
    xyz = _clip(2, 5, 32)
    compiled = torch.compile(model)
    with torch.no_grad():
        torch.testing.assert_close(compiled(xyz)["logits"], model(xyz)["logits"], rtol=1e-4, atol=1e-4)
    model.train()

    def loss_of(out):
        return out["logits"].sum() + out["embedding"][:, 0].sum()

    loss_of(compiled(xyz)).backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters()}
    model.zero_grad()
    loss_of(model(xyz)).backward()
    for n, p in model.named_parameters():
        torch.testing.assert_close(grads[n], p.grad, rtol=1e-3, atol=1e-4, msg=n)


def test_mac_counts():
    ntu = load_model_config("ntu")
    conv1 = stage_costs(ntu)[0]
    assert conv1.naive_spatial == 23 * 1024 * 9 * 3 * 45
    assert conv1.implemented_spatial == 23 * 2048 * 3 * 45  # the displacement map once per input point
    conv4 = stage_costs(ntu)[-1]
    assert conv4.naive_spatial == 2 * 1 * 128 * 9 * (3 + 1024 + 1024) * 1536
    assert conv4.implemented_spatial == 2 * 256 * (3 + 1024) * 1536 + 2 * 128 * 1024 * 1536
    macs = clip_macs(ntu)
    assert 25e9 < macs["naive"] < 40e9  # PSTNet-style grouping, anchor feature included
    assert macs["implemented"] < macs["naive"] / 4
    plain = clip_macs(dataclasses.replace(ntu, anchor_feature=False))
    assert plain["naive"] < macs["naive"]


@pytest.mark.cuda
def test_cuda_matches_cpu_and_runs_bf16_autocast():
    torch.manual_seed(0)
    model = IMPSTNet(tiny_config(), num_classes=4).eval()
    xyz = _clip(2, 5, 32)
    with torch.no_grad():
        ref = model(xyz)["logits"]
        gpu = model.cuda()
        torch.testing.assert_close(gpu(xyz.cuda())["logits"].cpu(), ref, rtol=1e-4, atol=1e-4)
    gpu.train()
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = gpu(xyz.cuda())
    (out["logits"].float().sum() + out["embedding"][:, 0].sum()).backward()
    for name, p in gpu.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


@pytest.mark.cuda
def test_cuda_full_ntu_training_step():
    model = IMPSTNet(load_model_config("ntu"), num_classes=60).cuda()
    xyz = torch.rand(4, 23, 2048, 3, device="cuda") * torch.tensor([1.0, 2.0, 1.0], device="cuda")
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = model(xyz)
    loss = torch.nn.functional.cross_entropy(out["logits"].float(), torch.arange(4, device="cuda"))
    (loss + out["embedding"][:, 0].sum()).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
