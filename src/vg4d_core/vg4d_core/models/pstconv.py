"""Point spatio-temporal convolution: PSTConv, PSTNet's layer with the im-PSTConv switches (VG4D eq. 8).

For every anchor window (temporal kernel ``l``), anchors are sampled by FPS
on the anchor frame; in each of the ``l`` frames of the window the ``k``
ball-query neighbours of an anchor give a displacement ``d`` (neighbour -
anchor) and a feature ``f``. The spatial stage maps them to ``mid`` channels
and pools over the neighbours; the temporal stage maps the ``l`` pooled
offsets to ``out`` channels:

    h_i   = W_d d                 (+ or *)  (W_f f_i + W_a f_anchor)    per neighbour
    s_i   = pool_k( [ReLU(BN(h_i))] )                                    per offset i
    out   = concat: W_t [ReLU(BN(s_1)); ...; ReLU(BN(s_l))]              (PSTNet)
            sum:    sum_i [ReLU(BN_i(]W_t,i s_i[))]                       (PSTNet++)

im-PSTConv (VG4D, eq. 8) changes two things, each a switch here:
``normalize_displacement`` uses ``d / r`` (r: the layer's radius) and
``anchor_feature`` adds the anchor's own feature ``f_anchor`` (from the anchor
frame) to every neighbour's input, i.e. the linear map acts on
``[d/r; f_i; f_anchor]``. With both off the layer is PSTNet's (or, with
``spatial_norm`` and ``temporal_fusion="sum"``, PSTNet++'s) layer.

Efficiency: the spatial stage is linear in ``d``, ``f`` and ``f_anchor``
before the pooling, so each block is applied where it is cheapest. ``W_f f``
and ``W_d x / r`` are computed once per input point (about
``k * l * T' * M / (L * N)`` times fewer multiply-adds than applying them to
every grouped copy) and summed into one table; ``W_d x_anchor / r`` and
``W_a f_anchor`` once per anchor. A neighbour then costs one row gather plus
its anchor's term. The coordinate tables are float32 under any autocast and
built from clip-centred coordinates, so ``q[nbr] - q[anchor]`` carries a
rounding error of about 1e-7 of the clip's extent. With BatchNorm + ReLU + max
pooling, :func:`~vg4d_core.models.bn_relu_max.bn_relu_max` pools before
normalising (exact: the map is monotone per channel); without BatchNorm the
anchor's term is added after pooling. The whole clip goes through each step
at once: no loop over frames or offsets.

Layout: features are channels-last, (B, L, N, C), so that every linear map is
a plain matmul and grouping gathers contiguous rows.

BatchNorm statistics in training are pooled over all anchor windows and
offsets of the batch (PSTNet's loop normalises each anchor frame separately
and updates the running averages once per frame); in eval mode the two are
identical.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .bn_relu_max import bn_relu_max
from ..ops import gather_rows
from .config import check_choice, temporal_output_frames
from .neighbourhood import sample_and_query, temporal_windows



def check_point_clip(xyz: torch.Tensor, layout: str) -> tuple[int, int, int]:
    """Type and rank checks of a point clip ``xyz`` (B, T, N, 3); returns (B, T, N).

    ``layout`` names the dimensions in the error message (layers say L, the
    network T).
    """
    if not isinstance(xyz, torch.Tensor) or not xyz.is_floating_point():
        raise TypeError(f"xyz must be a floating-point tensor {layout}, got {type(xyz).__name__}"
                        + (f" of {xyz.dtype}" if isinstance(xyz, torch.Tensor) else ""))
    if xyz.dim() != 4 or xyz.shape[-1] != 3:
        raise ValueError(f"xyz must have shape {layout}, got {tuple(xyz.shape)}")
    b, frames, points, _ = xyz.shape
    return b, frames, points

class PSTConv(nn.Module):
    """Point spatio-temporal convolution, with PSTNet's defaults.

    Args:
        in_channels: C, input feature width (0: coordinates only).
        mid_channels: width of the spatial stage.
        out_channels: width of the output.
        radius: ball-query radius r in the input's coordinate units.
        neighbours: k of the ball query.
        temporal_kernel: l, odd.
        spatial_stride: anchors per frame = N // spatial_stride.
        temporal_stride: stride between anchor frames.
        temporal_padding: (before, after) padding frames.
        padding_mode: ``zeros`` or ``replicate``.
        spatial_aggregation: ``addition`` or ``multiplication`` of the
            displacement term and the feature term.
        spatial_pooling: ``max``, ``sum`` or ``avg`` over the k neighbours.
        spatial_norm: BatchNorm + ReLU per neighbour before pooling (PSTNet++).
        temporal_fusion: ``concat`` (PSTNet) or ``sum`` (PSTNet++), see module doc.
        temporal_norm: BatchNorm + ReLU in the temporal stage.
        normalize_displacement: im-PSTConv switch: use d / r.
        anchor_feature: im-PSTConv switch: add the anchor's own feature to the input.
        empty_neighbourhood: ``zero`` (point 0, as pointnet2) or ``nearest``.

    Shapes: ``forward(xyz (B, L, N, 3), features (B, L, N, C) or None)`` ->
    ``(xyz (B, T', M, 3), features (B, T', M, out_channels))`` with
    ``M = N // spatial_stride`` and ``T' = (L + p0 + p1 - l) // temporal_stride + 1``.
    """

    def __init__(self, in_channels: int, mid_channels: int, out_channels: int, *, radius: float,
                 neighbours: int = 9, temporal_kernel: int = 1, spatial_stride: int = 1,
                 temporal_stride: int = 1, temporal_padding: tuple[int, int] = (0, 0),
                 padding_mode: str = "zeros", spatial_aggregation: str = "addition",
                 spatial_pooling: str = "max", spatial_norm: bool = False, temporal_fusion: str = "concat",
                 temporal_norm: bool = True, normalize_displacement: bool = False,
                 anchor_feature: bool = False, empty_neighbourhood: str = "zero") -> None:
        super().__init__()
        _check_int("in_channels", in_channels, minimum=0)
        for name, value in (("mid_channels", mid_channels), ("out_channels", out_channels),
                            ("neighbours", neighbours), ("temporal_kernel", temporal_kernel),
                            ("spatial_stride", spatial_stride), ("temporal_stride", temporal_stride)):
            _check_int(name, value, minimum=1)
        if temporal_kernel % 2 != 1:
            raise ValueError(f"temporal_kernel must be odd, got {temporal_kernel}")
        if not (isinstance(radius, (int, float)) and radius > 0):
            raise ValueError(f"radius must be a number > 0, got {radius!r}")
        if len(temporal_padding) != 2 or min(temporal_padding) < 0:
            raise ValueError(f"temporal_padding must be two integers >= 0, got {temporal_padding!r}")
        for name, value in (("padding_mode", padding_mode), ("spatial_aggregation", spatial_aggregation),
                            ("spatial_pooling", spatial_pooling), ("temporal_fusion", temporal_fusion),
                            ("empty_neighbourhood", empty_neighbourhood)):
            check_choice(name, value)

        self.in_channels = in_channels
        self.mid_channels = mid_channels
        self.out_channels = out_channels
        self.radius = float(radius)
        self.neighbours = neighbours
        self.temporal_kernel = temporal_kernel
        self.spatial_stride = spatial_stride
        self.temporal_stride = temporal_stride
        self.temporal_padding = (int(temporal_padding[0]), int(temporal_padding[1]))
        self.padding_mode = padding_mode
        self.spatial_aggregation = spatial_aggregation
        self.spatial_pooling = spatial_pooling
        self.temporal_fusion = temporal_fusion
        self.normalize_displacement = normalize_displacement
        self.anchor_feature = anchor_feature and in_channels > 0
        self.empty_neighbourhood = empty_neighbourhood

        # The spatial stage is one linear map on [d; f; f_anchor], kept as three
        # blocks so that each block can be applied where it is cheapest.
        fan_in = 3 + in_channels + (in_channels if self.anchor_feature else 0)
        self.disp = nn.Linear(3, mid_channels, bias=False)
        self.feat = nn.Linear(in_channels, mid_channels, bias=False) if in_channels else None
        self.anchor = nn.Linear(in_channels, mid_channels, bias=False) if self.anchor_feature else None
        bound = 1.0 / math.sqrt(fan_in)  # PSTNet's init: kaiming-uniform over the whole input width
        for lin in (self.disp, self.feat, self.anchor):
            if lin is not None:
                nn.init.uniform_(lin.weight, -bound, bound)
        self.spatial_bn = nn.BatchNorm1d(mid_channels) if spatial_norm else None

        # Temporal weight (out, l, mid): "concat" reads it as Conv1d(l*mid -> out),
        # "sum" as one (out, mid) map per offset; the two agree when nothing sits
        # between the map and the sum.
        self.temporal_weight = nn.Parameter(torch.empty(out_channels, temporal_kernel, mid_channels))
        t_bound = 1.0 / math.sqrt(temporal_kernel * mid_channels if temporal_fusion == "concat" else mid_channels)
        nn.init.uniform_(self.temporal_weight, -t_bound, t_bound)
        if not temporal_norm:
            self.temporal_bn = None
        elif temporal_fusion == "concat":
            self.temporal_bn = nn.BatchNorm1d(temporal_kernel * mid_channels)  # per offset and channel
        else:
            self.temporal_bn = nn.BatchNorm1d(temporal_kernel * out_channels)  # one BatchNorm per offset's map

    def extra_repr(self) -> str:
        return (f"{self.in_channels}->{self.mid_channels}->{self.out_channels}, r={self.radius:g}, "
                f"k={self.neighbours}, l={self.temporal_kernel}, stride=({self.spatial_stride}, "
                f"{self.temporal_stride}), pad={self.temporal_padding} {self.padding_mode}, "
                f"{self.spatial_aggregation}/{self.spatial_pooling}, temporal={self.temporal_fusion}, "
                f"norm_disp={self.normalize_displacement}, anchor_feat={self.anchor_feature}")

    def output_size(self, frames: int, points: int) -> tuple[int, int]:
        """(T', M) produced from a ``frames`` x ``points`` input (T' <= 0: too short)."""
        t_out = temporal_output_frames(frames, self.temporal_kernel, self.temporal_stride, self.temporal_padding)
        return t_out, points // self.spatial_stride

    def forward(self, xyz: torch.Tensor, features: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """xyz (B, L, N, 3), features (B, L, N, C) or None -> (B, T', M, 3), (B, T', M, out)."""
        self._check_inputs(xyz, features)
        b, num_frames, n, _ = xyz.shape
        m = n // self.spatial_stride
        l, k, mid = self.temporal_kernel, self.neighbours, self.mid_channels
        windows = temporal_windows(num_frames, l, self.temporal_stride, self.temporal_padding,
                                   self.padding_mode, device=xyz.device)
        t_out = windows.num_windows
        anchor_idx, nbr_idx = sample_and_query(xyz, windows, m, self.radius, k, self.empty_neighbourhood)

        # Flat row indices into per-point tables of shape (B*L*N + B, ·): row
        # (b*L + frame)*N + point, and row B*L*N + b for every point of a zero
        # padding frame of clip b (all at the origin, zero features).
        pad_row = b * num_frames * n + torch.arange(b, device=xyz.device)  # (B,)
        frame_base = (torch.arange(b, device=xyz.device)[:, None, None] * num_frames
                      + windows.frame[None]) * n  # (B, T', l)
        nbr_rows = frame_base[:, :, None, :, None] + nbr_idx  # (B, T', M, l, k)
        anchor_rows = frame_base[:, :, l // 2, None] + anchor_idx  # (B, T', M)
        if windows.has_pad:
            nbr_rows = torch.where(windows.is_pad[None, :, None, :, None], pad_row[:, None, None, None, None],
                                   nbr_rows)
            anchor_rows = torch.where(windows.anchor_is_pad[None, :, None], pad_row[:, None, None], anchor_rows)
        anchor_xyz = gather_rows(_with_pad_rows(xyz.reshape(-1, 3), xyz.new_zeros(b, 3)), anchor_rows)  # (B, T', M, 3)

        # Displacement term W_d (x_nbr - x_anchor) / r = q[nbr] - q[anchor] with
        # q = W_d x / r per point, in float32 whatever the autocast (bf16 would
        # lose the difference of two large terms). x is centred per clip first,
        # so the rounding error is ~1e-7 of the clip's extent, not of its
        # distance from the sensor.
        with torch.autocast(xyz.device.type, enabled=False):
            centre = xyz.float().mean(dim=(1, 2))  # (B, 3)
            xyz_c = _with_pad_rows((xyz.float() - centre[:, None, None, :]).reshape(-1, 3), -centre)
            scale = 1.0 / self.radius if self.normalize_displacement else 1.0
            q_table = F.linear(xyz_c * scale, self.disp.weight.float())  # (B*L*N + B, mid)
        anchor_term = -gather_rows(q_table, anchor_rows)  # (B, T', M, mid): the same for all l and k
        feat_table = None
        if self.feat is not None:
            # W_f f once per point, before grouping (padding frames: zero features)
            feat_table = _with_pad_rows(self.feat(features.reshape(-1, self.in_channels)),
                                        features.new_zeros(b, self.mid_channels))
            if self.anchor is not None:
                anchor_in = gather_rows(_with_pad_rows(features.reshape(-1, self.in_channels),
                                                 features.new_zeros(b, self.in_channels)), anchor_rows)
                feat_anchor = self.anchor(anchor_in).float()  # W_a f_anchor once per anchor
            else:
                feat_anchor = None

        if self.spatial_aggregation == "addition" or feat_table is None:
            # one linear map on [d; f; f_anchor]: one gather of the summed tables
            table = q_table if feat_table is None else q_table + feat_table.float()
            if feat_table is not None and feat_anchor is not None:
                anchor_term = anchor_term + feat_anchor
            g = gather_rows(table, nbr_rows)  # (B, T', M, l, k, mid)
            if self.spatial_bn is None:  # pooling commutes with adding a per-anchor term
                s = self._pool(g) + anchor_term[:, :, :, None, :] * (k if self.spatial_pooling == "sum" else 1)
            else:
                h = g + anchor_term[:, :, :, None, None, :]
                s = self._norm_pool(h)
        else:  # PSTNet's multiplication: (W_d d) * (W_f f [+ W_a f_anchor])
            hd = gather_rows(q_table, nbr_rows) + anchor_term[:, :, :, None, None, :]
            hf = gather_rows(feat_table, nbr_rows)
            if feat_anchor is not None:
                hf = hf + feat_anchor[:, :, :, None, None, :].to(hf.dtype)
            h = hd * hf
            s = self._pool(h) if self.spatial_bn is None else self._norm_pool(h)

        out = self._temporal(s.reshape(b * t_out * m, l, mid)).reshape(b, t_out, m, self.out_channels)
        return anchor_xyz, out

    def _pool(self, h: torch.Tensor) -> torch.Tensor:
        """Pool over the neighbour axis: (B, T', M, l, k, C) -> (B, T', M, l, C)."""
        if self.spatial_pooling == "max":
            return h.max(dim=4).values  # index-based backward: one scatter, no full-size mask
        if self.spatial_pooling == "sum":
            return h.sum(dim=4)
        return h.mean(dim=4)

    def _norm_pool(self, h: torch.Tensor) -> torch.Tensor:
        """BatchNorm + ReLU per neighbour, then pool: (B, T', M, l, k, mid) -> (B, T', M, l, mid)."""
        *lead, k, mid = h.shape
        if self.spatial_pooling == "max":
            return bn_relu_max(h.reshape(-1, k, mid), self.spatial_bn).reshape(*lead, mid)
        return self._pool(torch.relu(self.spatial_bn(h.reshape(-1, mid))).reshape(*lead, k, mid))

    def _temporal(self, s: torch.Tensor) -> torch.Tensor:
        """Pooled offsets s (P, l, mid) -> (P, out)."""
        p, l, mid = s.shape
        w = self.temporal_weight
        if self.temporal_fusion == "concat":
            s = s.reshape(p, l * mid)
            if self.temporal_bn is not None:
                s = self.temporal_bn(s).relu_()
            return F.linear(s, w.reshape(self.out_channels, l * mid))
        if self.temporal_bn is None:  # sum_i W_i s_i is one matmul on the concatenation
            return F.linear(s.reshape(p, l * mid), w.reshape(self.out_channels, l * mid))
        y = torch.einsum("plc,olc->plo", s, w)  # (P, l, out): each offset through its own map
        y = self.temporal_bn(y.reshape(p, l * self.out_channels)).relu_()
        return y.reshape(p, l, self.out_channels).sum(dim=1)

    def _check_inputs(self, xyz: torch.Tensor, features: torch.Tensor | None) -> None:
        b, num_frames, n = check_point_clip(xyz, "(B, L, N, 3)")
        if b < 1 or num_frames < 1:
            raise ValueError(f"xyz must hold at least one clip and one frame, got shape {tuple(xyz.shape)}")
        if n < self.spatial_stride:
            raise ValueError(f"xyz has {n} points per frame, fewer than spatial_stride={self.spatial_stride}")
        if self.output_size(num_frames, n)[0] < 1:
            raise ValueError(f"xyz has {num_frames} frames: with padding {self.temporal_padding} that is shorter "
                             f"than temporal_kernel={self.temporal_kernel}")
        if self.in_channels == 0:
            if features is not None:
                raise ValueError(f"this layer takes no input features (in_channels=0), got {tuple(features.shape)}")
            return
        if features is None:
            raise ValueError(f"features of shape (B, L, N, {self.in_channels}) are required, got None")
        if not isinstance(features, torch.Tensor) or not features.is_floating_point():
            raise TypeError(f"features must be a floating-point tensor, got {type(features).__name__}")
        if tuple(features.shape) != (b, num_frames, n, self.in_channels):
            raise ValueError(f"features must have shape (B, L, N, C) = {(b, num_frames, n, self.in_channels)} "
                             f"to match xyz {tuple(xyz.shape)}, got {tuple(features.shape)}")


def _with_pad_rows(table: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
    """(R, C) table + (B, C) padding-frame rows, one per clip -> (R + B, C)."""
    return torch.cat([table, pad.to(table.dtype)], dim=0)


def _check_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
