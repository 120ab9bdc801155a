"""PSTConv with and without the im-PSTConv switches: the vectorised layer against the loop reference, shapes, errors."""
from __future__ import annotations

import pytest
import torch

from pst_loop_reference import loop_pstconv
from vg4d_core.models import PSTConv
from vg4d_core.models.neighbourhood import temporal_windows


def im_pstconv(in_channels, mid_channels, out_channels, **kw):
    """The im-PSTNet configs' layer style (config/model/ntu.yaml): PSTNet++ layer, both switches on."""
    style = dict(padding_mode="replicate", spatial_norm=True, temporal_fusion="sum",
                 empty_neighbourhood="nearest", normalize_displacement=True, anchor_feature=True)
    style.update(kw)
    return PSTConv(in_channels, mid_channels, out_channels, **style)


def _randomise_bn(layer: torch.nn.Module, gen: torch.Generator) -> None:
    """Running statistics and affine parameters away from identity, so the test can see them."""
    for bn in (layer.spatial_bn, layer.temporal_bn):
        if bn is None:
            continue
        c = bn.num_features
        bn.running_mean.copy_(torch.randn(c, generator=gen) * 0.3)
        bn.running_var.copy_(torch.rand(c, generator=gen) + 0.5)
        with torch.no_grad():
            bn.weight.copy_(torch.randn(c, generator=gen))
            bn.bias.copy_(torch.randn(c, generator=gen) * 0.2)


def _clip(b=2, frames=6, n=40, c=5, seed=0):
    gen = torch.Generator().manual_seed(seed)
    xyz = torch.rand(b, frames, n, 3, generator=gen)
    xyz[:, :, :, 2] += torch.linspace(0, 0.3, frames)[None, :, None]  # motion: frames differ
    feats = torch.randn(b, frames, n, c, generator=gen) if c else None
    return xyz, feats, gen


# Each case: PSTConv keyword arguments (besides channels/radius/k). Together they
# cover both paddings (incl. a zero frame as anchor frame), both aggregations, the
# three poolings, both temporal fusions, with and without the norms, both empty-
# ball rules and each im- switch alone and together.
CASES = {
    "pstnet_ntu": dict(temporal_kernel=3, temporal_stride=2, spatial_stride=2),
    "pstnet_msr": dict(temporal_kernel=3, temporal_stride=2, spatial_stride=2, temporal_padding=(1, 0),
                       spatial_aggregation="multiplication", spatial_pooling="sum"),
    "pstnet_pp_ntu": dict(temporal_kernel=3, temporal_stride=1, spatial_norm=True, temporal_fusion="sum"),
    "pstnet_pp_msr": dict(temporal_kernel=3, temporal_stride=2, spatial_stride=2, temporal_padding=(1, 0),
                          padding_mode="replicate", spatial_norm=True, temporal_fusion="sum",
                          temporal_norm=False),
    "im_ntu": dict(temporal_kernel=3, temporal_stride=2, spatial_norm=True, temporal_fusion="sum",
                   normalize_displacement=True, anchor_feature=True, empty_neighbourhood="nearest"),
    "im_msr_pad": dict(temporal_kernel=3, temporal_stride=1, temporal_padding=(1, 1), padding_mode="replicate",
                       spatial_norm=True, temporal_fusion="sum", temporal_norm=False,
                       normalize_displacement=True, anchor_feature=True, empty_neighbourhood="nearest"),
    "zero_anchor_frames": dict(temporal_kernel=1, temporal_padding=(2, 1), spatial_pooling="avg",
                               anchor_feature=True),
    "zeros_pad_k5": dict(temporal_kernel=5, temporal_stride=2, temporal_padding=(2, 2), anchor_feature=True,
                         spatial_aggregation="multiplication", spatial_pooling="max"),
    "norm_only": dict(temporal_kernel=3, normalize_displacement=True, temporal_norm=False),
}


@pytest.mark.parametrize("in_channels", [0, 5])
@pytest.mark.parametrize("case", sorted(CASES))
def test_vectorised_layer_matches_loop_reference(case, in_channels):
    xyz, feats, gen = _clip(c=in_channels)
    torch.manual_seed(1)
    layer = PSTConv(in_channels, 8, 7, radius=0.3, neighbours=4, **CASES[case])
    _randomise_bn(layer, gen)
    layer.eval()
    with torch.no_grad():
        got_xyz, got = layer(xyz, feats)
        ref_xyz, ref = loop_pstconv(layer, xyz, feats)
    assert got.shape == ref.shape
    assert torch.equal(got_xyz, ref_xyz)
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5)


def test_balls_in_reference_cases_are_partly_empty_and_partly_full():
    """The comparison above exercises both ball-query regimes (empty ball, > k hits)."""
    from vg4d_core.ops import ball_query

    xyz, _, _ = _clip(c=0)
    frames = xyz[:, 0]
    d = torch.cdist(frames, xyz[:, 3]).lt(0.3).sum(-1)  # hits of frame 0's points in frame 3
    assert (d == 0).any() and (d > 4).any()
    assert ball_query(xyz[:, 3], frames, 0.3, 4).shape == (2, 40, 4)


def test_im_switches_off_is_exactly_the_pstnet_pp_layer():
    """IMPSTConv with both improvements off: same parameters and outputs as PSTNet++'s layer."""
    xyz, feats, gen = _clip()
    torch.manual_seed(3)
    im = im_pstconv(5, 8, 7, radius=0.3, neighbours=4, temporal_kernel=3, temporal_stride=2,
                   normalize_displacement=False, anchor_feature=False)
    base = PSTConv(5, 8, 7, radius=0.3, neighbours=4, temporal_kernel=3, temporal_stride=2,
                   padding_mode="replicate", spatial_norm=True, temporal_fusion="sum",
                   empty_neighbourhood="nearest")
    assert im.anchor is None
    assert {k: v.shape for k, v in im.state_dict().items()} == {k: v.shape for k, v in base.state_dict().items()}
    base.load_state_dict(im.state_dict())
    _randomise_bn(im, gen)
    base.load_state_dict(im.state_dict())
    im.eval(), base.eval()
    with torch.no_grad():
        out_im = im(xyz, feats)[1]
        torch.testing.assert_close(out_im, base(xyz, feats)[1], rtol=0, atol=0)
        torch.testing.assert_close(out_im, loop_pstconv(im, xyz, feats)[1], rtol=1e-5, atol=1e-5)


def test_each_im_switch_changes_the_output():
    xyz, feats, _ = _clip()
    outs = {}
    for norm in (False, True):
        for anchor in (False, True):
            torch.manual_seed(4)
            layer = im_pstconv(5, 8, 7, radius=0.3, neighbours=4, temporal_kernel=3,
                              normalize_displacement=norm, anchor_feature=anchor).eval()
            with torch.no_grad():
                outs[norm, anchor] = layer(xyz, feats)[1]
    keys = list(outs)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            assert not torch.allclose(outs[a], outs[b]), (a, b)


def test_temporal_windows_padding_rules():
    w = temporal_windows(24, 3, 2, (1, 0), "replicate")
    assert w.num_windows == 12
    assert w.frame[0].tolist() == [0, 0, 1]  # padded frame -1 replicates frame 0
    assert w.frame[-1].tolist() == [21, 22, 23]
    assert not w.is_pad.any()
    z = temporal_windows(24, 3, 2, (1, 0), "zeros")
    assert z.is_pad[0].tolist() == [True, False, False] and z.is_pad.sum() == 1
    assert z.has_pad and not z.anchor_has_pad and not w.has_pad
    assert temporal_windows(23, 3, 2, (0, 0), "zeros").num_windows == 11
    assert temporal_windows(4, 3, 2, (0, 0), "zeros").num_windows == 1  # trailing frame dropped
    with pytest.raises(ValueError, match="shorter than the temporal kernel"):
        temporal_windows(2, 3, 1, (0, 0), "zeros")


@pytest.mark.parametrize("frames", [1, 2, 5, 6, 9])
@pytest.mark.parametrize("kernel, stride, padding", [(1, 1, (0, 0)), (1, 1, (2, 1)), (3, 2, (1, 0)),
                                                     (3, 1, (1, 1)), (5, 2, (2, 2)), (3, 3, (0, 2))])
def test_padding_flags_agree_with_the_table(frames, kernel, stride, padding):
    if frames + sum(padding) < kernel:
        pytest.skip("clip shorter than the kernel (an error, tested above)")
    w = temporal_windows(frames, kernel, stride, padding, "zeros")
    assert w.has_pad == bool(w.is_pad.any())
    assert w.anchor_has_pad == bool(w.anchor_is_pad.any())


@pytest.mark.parametrize("batch", [1, 3])
def test_output_shapes_and_batch_independence(batch):
    xyz, feats, _ = _clip(b=batch, frames=7, n=30)
    torch.manual_seed(5)
    layer = im_pstconv(5, 8, 7, radius=0.3, neighbours=4, temporal_kernel=3, temporal_stride=2,
                      spatial_stride=3, temporal_padding=(1, 1)).eval()
    with torch.no_grad():
        new_xyz, out = layer(xyz, feats)
        assert new_xyz.shape == (batch, 4, 10, 3) and out.shape == (batch, 4, 10, 7)
        assert layer.output_size(7, 30) == (4, 10)
        for i in range(batch):  # each clip's result does not depend on its batch mates
            torch.testing.assert_close(layer(xyz[i:i + 1], feats[i:i + 1])[1], out[i:i + 1])


@pytest.mark.parametrize("xyz_shape, feat_shape, exc, match", [
    ((2, 6, 40), (2, 6, 40, 5), ValueError, r"xyz must have shape \(B, L, N, 3\)"),
    ((2, 6, 40, 2), (2, 6, 40, 5), ValueError, r"xyz must have shape"),
    ((2, 2, 40, 3), (2, 2, 40, 5), ValueError, "shorter than temporal_kernel=3"),
    ((2, 6, 1, 3), (2, 6, 1, 5), ValueError, "fewer than spatial_stride=2"),
    ((2, 6, 40, 3), (2, 6, 40, 4), ValueError, r"features must have shape \(B, L, N, C\)"),
    ((2, 6, 40, 3), (2, 5, 40, 5), ValueError, r"features must have shape"),
    ((2, 6, 40, 3), None, ValueError, "features of shape"),
])
def test_bad_input_shapes_get_clear_errors(xyz_shape, feat_shape, exc, match):
    layer = im_pstconv(5, 8, 7, radius=0.3, temporal_kernel=3, spatial_stride=2)
    feats = torch.zeros(feat_shape) if feat_shape is not None else None
    with pytest.raises(exc, match=match):
        layer(torch.zeros(xyz_shape), feats)


def test_bad_input_types_and_arguments():
    layer = im_pstconv(0, 8, 7, radius=0.3)
    with pytest.raises(TypeError, match="xyz must be a floating-point tensor"):
        layer(torch.zeros(1, 2, 10, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="takes no input features"):
        layer(torch.zeros(1, 2, 10, 3), torch.zeros(1, 2, 10, 4))
    with pytest.raises(ValueError, match="temporal_kernel must be odd"):
        PSTConv(4, 8, 8, radius=0.1, temporal_kernel=2)
    with pytest.raises(ValueError, match="radius must be a number > 0"):
        PSTConv(4, 8, 8, radius=0.0)
    with pytest.raises(ValueError, match="spatial_pooling must be one of"):
        PSTConv(4, 8, 8, radius=0.1, spatial_pooling="median")
    with pytest.raises(ValueError, match="padding_mode must be one of"):
        PSTConv(4, 8, 8, radius=0.1, padding_mode="reflect")
    with pytest.raises(ValueError, match="mid_channels must be an integer >= 1"):
        PSTConv(4, 0, 8, radius=0.1)


def test_layer_gradients_reach_inputs_and_every_parameter():
    xyz, feats, _ = _clip()
    feats.requires_grad_(True)
    layer = im_pstconv(5, 8, 7, radius=0.3, neighbours=4, temporal_kernel=3, temporal_padding=(1, 1))
    layer(xyz, feats)[1].square().mean().backward()
    assert feats.grad is not None and feats.grad.abs().sum() > 0
    for name, p in layer.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
