"""Slow, loop-based reference of a PSTConv layer, written the way PSTNet states it.

For each anchor frame (a Python loop over the padded clip) and each temporal
offset (a second loop), FPS, ball query and grouping run on single frames;
the spatial map is applied to every grouped neighbour's full input vector
``[d (/ r); f_neighbour; f_anchor]`` with one weight matrix (no
pre-grouping shortcut); padding materialises real frames (zeros: every point
at the origin with zero features). It reads the parameters of a
:class:`vg4d_core.models.PSTConv` and must be called with the layer in eval
mode (the loop normalises per frame, the vectorised layer per clip, so only
the running statistics agree).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from vg4d_core.ops import ball_query, furthest_point_sample


def _bn_eval(x: torch.Tensor, bn: torch.nn.BatchNorm1d) -> torch.Tensor:
    """BatchNorm with running statistics over the last dimension of x."""
    return (x - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias


def _gather(points: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """points (B, N, C), idx (B, ...) -> (B, ..., C)."""
    b = points.shape[0]
    flat = idx.reshape(b, -1)
    out = torch.stack([points[i, flat[i]] for i in range(b)])
    return out.reshape(*idx.shape, points.shape[-1])


def loop_pstconv(layer, xyz: torch.Tensor, features: torch.Tensor | None):
    """xyz (B, L, N, 3), features (B, L, N, C) or None -> ((B, T', M, 3), (B, T', M, out))."""
    assert not layer.training, "the reference uses running BatchNorm statistics: call layer.eval()"
    b, num_frames, n, _ = xyz.shape
    c = layer.in_channels
    frames = [xyz[:, i] for i in range(num_frames)]
    feats = [features[:, i] for i in range(num_frames)] if c else None
    p0, p1 = layer.temporal_padding
    if layer.padding_mode == "zeros":
        frames = [torch.zeros_like(frames[0])] * p0 + frames + [torch.zeros_like(frames[0])] * p1
        if c:
            feats = [torch.zeros_like(feats[0])] * p0 + feats + [torch.zeros_like(feats[0])] * p1
    else:
        frames = [frames[0]] * p0 + frames + [frames[-1]] * p1
        if c:
            feats = [feats[0]] * p0 + feats + [feats[-1]] * p1

    r_t = layer.temporal_kernel // 2
    m = n // layer.spatial_stride
    w_parts = [layer.disp.weight]
    if c:
        w_parts.append(layer.feat.weight)
    if layer.anchor is not None:
        w_parts.append(layer.anchor.weight)
    w_full = torch.cat(w_parts, dim=1)  # (mid, 3 + C [+ C]): the map of eq. 8 on the concatenation
    w_t = layer.temporal_weight  # (out, l, mid)

    out_xyz, out_feat = [], []
    for t in range(r_t, len(frames) - r_t, layer.temporal_stride):
        anchor_idx = furthest_point_sample(frames[t], m)  # (B, M)
        anchor_xyz = _gather(frames[t], anchor_idx)  # (B, M, 3)
        anchor_f = _gather(feats[t], anchor_idx) if layer.anchor is not None else None  # (B, M, C)
        pooled = []
        for i in range(t - r_t, t + r_t + 1):
            idx = ball_query(frames[i], anchor_xyz, layer.radius, layer.neighbours,
                             empty=layer.empty_neighbourhood)  # (B, M, k)
            disp = _gather(frames[i], idx) - anchor_xyz[:, :, None, :]  # (B, M, k, 3)
            if layer.normalize_displacement:
                disp = disp / layer.radius
            parts = [disp]
            if c:
                parts.append(_gather(feats[i], idx))
            if anchor_f is not None:
                parts.append(anchor_f[:, :, None, :].expand(-1, -1, layer.neighbours, -1))
            x = torch.cat(parts, dim=-1)  # (B, M, k, 3 + C [+ C])
            if layer.spatial_aggregation == "addition" or not c:
                h = x @ w_full.T
            else:
                h = (x[..., :3] @ w_full[:, :3].T) * (x[..., 3:] @ w_full[:, 3:].T)
            if layer.spatial_bn is not None:
                h = F.relu(_bn_eval(h, layer.spatial_bn))
            if layer.spatial_pooling == "max":
                h = h.max(dim=2).values
            elif layer.spatial_pooling == "sum":
                h = h.sum(dim=2)
            else:
                h = h.mean(dim=2)
            pooled.append(h)  # (B, M, mid)

        if layer.temporal_fusion == "concat":
            s = torch.cat(pooled, dim=-1)  # (B, M, l*mid)
            if layer.temporal_bn is not None:
                s = F.relu(_bn_eval(s, layer.temporal_bn))
            y = s @ w_t.reshape(w_t.shape[0], -1).T
        else:
            y = 0
            out_ch = w_t.shape[0]
            for j, s in enumerate(pooled):
                yj = s @ w_t[:, j].T  # (B, M, out)
                if layer.temporal_bn is not None:
                    bn = layer.temporal_bn
                    sl = slice(j * out_ch, (j + 1) * out_ch)
                    yj = F.relu((yj - bn.running_mean[sl]) / torch.sqrt(bn.running_var[sl] + bn.eps)
                                * bn.weight[sl] + bn.bias[sl])
                y = y + yj
        out_xyz.append(anchor_xyz)
        out_feat.append(y)
    return torch.stack(out_xyz, dim=1), torch.stack(out_feat, dim=1)
