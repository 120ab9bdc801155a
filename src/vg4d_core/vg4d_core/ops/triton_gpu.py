"""GPU kernels of FPS and ball query, written in Triton (JIT-compiled, nothing to build).

Bit-identical to the naive reference: squared distances are
``dx*dx + dy*dy + dz*dz`` in float32 left to right, and the kernels are
launched with ``enable_fp_fusion=False`` so the compiler does not contract
them into FMAs (which round differently and would flip neighbours at the
ball's edge). Ties resolve to the lowest index.

With ``TRITON_INTERPRET=1`` in the environment when this module is first
imported, Triton's interpreter runs the same kernels on CPU tensors (numpy
underneath): that is how their logic is tested on machines without a GPU.
:data:`INTERPRETED` says which mode the kernels were defined in.

The launchers take validated inputs (float32 contiguous coordinates, int64
contiguous indices); :mod:`vg4d_core.ops` is the checked entry point.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

# FPS keeps a whole frame in registers up to this many points (one program
# per frame); larger frames stream through a global scratch buffer.
FPS_MAX_REGISTER_POINTS = 8192
# Ball query tile: BLOCK_M centres x BLOCK_N points. Larger tiles spill
# registers on sm_90 (ptxas -v: 64 x 128 needs 255 registers + 1.2 kB of
# spills; 32 x 32 with 4 warps needs 96 and none).
BALL_QUERY_BLOCK_M = 32
BALL_QUERY_BLOCK_N = 32
BALL_QUERY_WARPS = 4


@triton.jit
def _fps_register_kernel(xyz_ptr, out_ptr, N, M, BLOCK: tl.constexpr):
    """One program per batch element; the frame's N points live in registers.

    xyz (B, N, 3) f32, out (B, M) int64.
    """
    b = tl.program_id(0).to(tl.int64)
    offs = tl.arange(0, BLOCK)
    mask = offs < N
    base = xyz_ptr + b * N * 3
    x = tl.load(base + offs * 3 + 0, mask=mask, other=0.0)
    y = tl.load(base + offs * 3 + 1, mask=mask, other=0.0)
    z = tl.load(base + offs * 3 + 2, mask=mask, other=0.0)
    # padding lanes hold -1: below every real distance, so they never win
    temp = tl.where(mask, float("inf"), -1.0)
    tl.store(out_ptr + b * M, 0)
    last = tl.full((), 0, tl.int32)
    for i in range(1, M):
        px = tl.load(base + last * 3 + 0)
        py = tl.load(base + last * 3 + 1)
        pz = tl.load(base + last * 3 + 2)
        dx = x - px
        dy = y - py
        dz = z - pz
        d = dx * dx + dy * dy + dz * dz
        temp = tl.minimum(temp, d)
        last = tl.argmax(temp, axis=0, tie_break_left=True).to(tl.int32)
        tl.store(out_ptr + b * M + i, last.to(tl.int64))


@triton.jit
def _fps_chunked_kernel(xyz_ptr, temp_ptr, out_ptr, N, M, BLOCK: tl.constexpr):
    """One program per batch element for frames too large for registers.

    temp (B, N) f32 scratch, initialised to +inf, holds each point's squared
    distance to the nearest sample; it streams through in BLOCK chunks.
    """
    b = tl.program_id(0).to(tl.int64)
    offs = tl.arange(0, BLOCK)
    base = xyz_ptr + b * N * 3
    tbase = temp_ptr + b * N
    tl.store(out_ptr + b * M, 0)
    last = tl.full((), 0, tl.int32)
    for i in range(1, M):
        px = tl.load(base + last * 3 + 0)
        py = tl.load(base + last * 3 + 1)
        pz = tl.load(base + last * 3 + 2)
        best = tl.full((), -1.0, tl.float32)
        best_idx = tl.full((), 0, tl.int32)
        for start in range(0, N, BLOCK):
            cur = start + offs
            mask = cur < N
            dx = tl.load(base + cur * 3 + 0, mask=mask, other=0.0) - px
            dy = tl.load(base + cur * 3 + 1, mask=mask, other=0.0) - py
            dz = tl.load(base + cur * 3 + 2, mask=mask, other=0.0) - pz
            d = dx * dx + dy * dy + dz * dz
            t = tl.minimum(tl.load(tbase + cur, mask=mask, other=-1.0), d)
            t = tl.where(mask, t, -1.0)
            tl.store(tbase + cur, t, mask=mask)
            cmax = tl.max(t, axis=0)
            carg = tl.argmax(t, axis=0, tie_break_left=True).to(tl.int32) + start
            # strict '>': an earlier chunk keeps ties (lowest index)
            take = cmax > best
            best = tl.where(take, cmax, best)
            best_idx = tl.where(take, carg, best_idx)
        last = best_idx
        tl.store(out_ptr + b * M + i, last.to(tl.int64))


@triton.jit
def _ball_query_kernel(xyz_ptr, ctr_ptr, out_ptr, N, M, K, r2,
                       NEAREST: tl.constexpr, BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr,
                       BLOCK_K: tl.constexpr):
    """Program (block of BLOCK_M centres, batch element b).

    Streams points in index order in BLOCK_N tiles; each hit's slot is the
    running hit count of its row plus its rank within the tile (a cumulative
    sum), so rows fill in index order. Stops once every row holds K hits.
    xyz (B, N, 3) f32, centres (B, M, 3) f32, out (B, M, K) int64.
    """
    b = tl.program_id(1).to(tl.int64)
    offs_m = tl.program_id(0) * BLOCK_M + tl.arange(0, BLOCK_M)
    mmask = offs_m < M
    cbase = ctr_ptr + (b * M + offs_m) * 3
    cx = tl.load(cbase + 0, mask=mmask, other=0.0)
    cy = tl.load(cbase + 1, mask=mmask, other=0.0)
    cz = tl.load(cbase + 2, mask=mmask, other=0.0)
    obase = out_ptr + (b * M + offs_m) * K  # (BLOCK_M,) row starts
    xbase = xyz_ptr + b * N * 3
    cnt = tl.zeros((BLOCK_M,), tl.int32)
    first = tl.zeros((BLOCK_M,), tl.int32)
    best_d = tl.full((BLOCK_M,), float("inf"), tl.float32)
    best_i = tl.zeros((BLOCK_M,), tl.int32)
    start = tl.full((), 0, tl.int32)
    pending = tl.sum(mmask.to(tl.int32), axis=0)
    while (start < N) & (pending > 0):
        offs_n = start + tl.arange(0, BLOCK_N)
        nmask = offs_n < N
        px = tl.load(xbase + offs_n * 3 + 0, mask=nmask, other=0.0)
        py = tl.load(xbase + offs_n * 3 + 1, mask=nmask, other=0.0)
        pz = tl.load(xbase + offs_n * 3 + 2, mask=nmask, other=0.0)
        dx = px[None, :] - cx[:, None]
        dy = py[None, :] - cy[:, None]
        dz = pz[None, :] - cz[:, None]
        d = dx * dx + dy * dy + dz * dz  # (BLOCK_M, BLOCK_N)
        hit = (d < r2) & nmask[None, :] & mmask[:, None]
        hit_i = hit.to(tl.int32)
        if tl.sum(tl.sum(hit_i, axis=1), axis=0) > 0:
            slot = cnt[:, None] + tl.cumsum(hit_i, axis=1) - 1
            tl.store(obase[:, None] + slot, offs_n[None, :].to(tl.int64), mask=hit & (slot < K))
            tile_first = tl.min(tl.where(hit, offs_n[None, :], N), axis=1)
            first = tl.where(cnt == 0, tile_first, first)
            cnt += tl.sum(hit_i, axis=1)
        if NEAREST:
            # rows that end empty were scanned to the end, so this is exact for them
            dm = tl.where(nmask[None, :], d, float("inf"))
            tmin = tl.min(dm, axis=1)
            targ = tl.argmin(dm, axis=1, tie_break_left=True).to(tl.int32) + start
            better = tmin < best_d  # strict: an earlier tile keeps ties
            best_d = tl.where(better, tmin, best_d)
            best_i = tl.where(better, targ, best_i)
        pending = tl.sum(((cnt < K) & mmask).to(tl.int32), axis=0)
        start += BLOCK_N
    if NEAREST:
        fill = tl.where(cnt > 0, first, best_i)
    else:
        fill = tl.where(cnt > 0, first, 0)
    slots = tl.arange(0, BLOCK_K)
    pad = (slots[None, :] >= cnt[:, None]) & (slots[None, :] < K) & mmask[:, None]
    fill2d = tl.zeros((BLOCK_M, BLOCK_K), tl.int32) + fill[:, None]
    tl.store(obase[:, None] + slots[None, :], fill2d.to(tl.int64), mask=pad)


# True when the kernels above were defined under Triton's interpreter
# (TRITON_INTERPRET=1): they then run on CPU tensors.
INTERPRETED = not isinstance(_fps_register_kernel, triton.runtime.JITFunction)

_NO_FMA = {"enable_fp_fusion": False}


def fps_warps(block: int) -> int:
    """Warps of an FPS program over ``block`` points: 8 for 2048 (57 registers on sm_90)."""
    return max(1, min(16, block // 256))


def furthest_point_sample(xyz: torch.Tensor, m: int,
                          max_register_points: int = FPS_MAX_REGISTER_POINTS) -> torch.Tensor:
    """xyz (B, N, 3) float32 contiguous -> idx (B, m) int64 (one program per frame)."""
    b_size, n, _ = xyz.shape
    out = torch.empty(b_size, m, dtype=torch.int64, device=xyz.device)
    if b_size == 0:
        return out
    block = triton.next_power_of_2(n)
    if n <= max_register_points:
        _fps_register_kernel[(b_size,)](xyz, out, n, m, BLOCK=block, num_warps=fps_warps(block), **_NO_FMA)
    else:
        chunk = triton.next_power_of_2(min(n, max_register_points))
        temp = torch.full((b_size, n), float("inf"), dtype=torch.float32, device=xyz.device)
        _fps_chunked_kernel[(b_size,)](xyz, temp, out, n, m, BLOCK=chunk, num_warps=fps_warps(chunk), **_NO_FMA)
    return out


def ball_query(xyz: torch.Tensor, centers: torch.Tensor, r2: float, k: int, nearest_if_empty: bool,
               block_m: int = BALL_QUERY_BLOCK_M, block_n: int = BALL_QUERY_BLOCK_N) -> torch.Tensor:
    """xyz (B, N, 3), centers (B, M, 3) float32 -> idx (B, M, k) int64; see
    :func:`vg4d_core.ops.ball_query` (``r2`` is the float32 squared radius)."""
    b_size, n, _ = xyz.shape
    m = centers.shape[1]
    out = torch.empty(b_size, m, k, dtype=torch.int64, device=xyz.device)
    if b_size == 0 or m == 0:
        return out
    grid = (triton.cdiv(m, block_m), b_size)
    _ball_query_kernel[grid](xyz, centers, out, n, m, k, r2, NEAREST=bool(nearest_if_empty),
                             BLOCK_M=block_m, BLOCK_N=block_n, BLOCK_K=triton.next_power_of_2(k),
                             num_warps=BALL_QUERY_WARPS, **_NO_FMA)
    return out
