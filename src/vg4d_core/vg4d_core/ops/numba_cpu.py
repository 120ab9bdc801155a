"""CPU kernels of FPS and ball query, compiled by numba (nothing for users to build).

Same results, bit for bit, as the naive reference: every squared distance is
``dx*dx + dy*dy + dz*dz`` evaluated left to right in float32 with IEEE
rounding (no ``fastmath``, so no FMA contraction or reassociation), and ties
resolve to the lowest point index.

Parallelism: one parallel region per call. Furthest point sampling and ball
query run one frame (batch element) per task.
Models call these ops on flattened clips, (B*T) frames, which
keeps every core busy; a single frame runs on one core. Thread count is
numba's (``NUMBA_NUM_THREADS``, default: all cores). Kernels are cached on
disk after the first compilation.

On cores shared with other busy processes, OpenMP's spinning barriers make
the parallel kernels slower than one thread (NTU clip, 2 cores, load 2.5:
FPS 16 ms / ball query 16 ms with 2 threads, 10 / 8 ms with
``NUMBA_NUM_THREADS=1`` or ``OMP_WAIT_POLICY=passive``). Set one of those
there; this module does not change process-wide threading settings.

The functions here take and return numpy arrays; :mod:`vg4d_core.ops` wraps
them for torch tensors.
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

# Furthest point sampling visits only the leaves of a k-d tree that the newest
# sample can still change; smaller leaves skip more points but cost more
# bookkeeping. 32-64 is the sweet spot for 2k-point frames (measured).
FPS_LEAF_SIZE = 48


@njit(cache=True, nogil=True)
def _kd_leaves(x, y, z, leaf_size):
    """Order points into spatially compact leaves.

    x, y, z: (N,) float32. Returns ``perm`` (N,) int64 (leaf-major order of
    the original indices) and ``bounds`` (L+1,) int64 (leaf ``l`` holds
    ``perm[bounds[l]:bounds[l+1]]``). Splits a segment at the midpoint of its
    longest box side until it holds <= ``leaf_size`` points or cannot be split
    (all points equal). O(N log N), no sorting.
    """
    n = x.shape[0]
    perm = np.arange(n).astype(np.int32)
    # explicit stack of pending segments (start, end); depth never exceeds n
    stack = np.empty((n + 1, 2), np.int64)
    bounds = np.empty(n + 1, np.int64)
    nleaf = 0
    top = 0
    stack[0, 0] = 0
    stack[0, 1] = n
    top = 1
    while top > 0:
        top -= 1
        start = stack[top, 0]
        end = stack[top, 1]
        split = -1
        if end - start > leaf_size:
            p = perm[start]
            lx = x[p]
            hx = x[p]
            ly = y[p]
            hy = y[p]
            lz = z[p]
            hz = z[p]
            for t in range(start + 1, end):
                p = perm[t]
                lx = min(lx, x[p])
                hx = max(hx, x[p])
                ly = min(ly, y[p])
                hy = max(hy, y[p])
                lz = min(lz, z[p])
                hz = max(hz, z[p])
            ex = hx - lx
            ey = hy - ly
            ez = hz - lz
            axis = 0
            lo = lx
            hi = hx
            if ey > ex and ey >= ez:
                axis = 1
                lo = ly
                hi = hy
            elif ez > ex and ez > ey:
                axis = 2
                lo = lz
                hi = hz
            mid = lo + (hi - lo) * np.float32(0.5)
            # Hoare-style partition: keys < mid to the front
            i = start
            j = end - 1
            while i <= j:
                pi = perm[i]
                ki = x[pi] if axis == 0 else (y[pi] if axis == 1 else z[pi])
                if ki < mid:
                    i += 1
                else:
                    perm[i] = perm[j]
                    perm[j] = pi
                    j -= 1
            if start < i < end:  # both halves non-empty (mid may round onto lo)
                split = i
        if split < 0:
            bounds[nleaf] = start
            nleaf += 1
        else:
            # push right first so the left half is emitted first (DFS order)
            stack[top, 0] = split
            stack[top, 1] = end
            stack[top + 1, 0] = start
            stack[top + 1, 1] = split
            top += 2
    bounds[nleaf] = n
    return perm, bounds[: nleaf + 1].copy()


@njit(cache=True, nogil=True)
def _fps_one(pts, m, out, leaf_size):
    """Furthest point sampling of one frame: pts (N, 3) f32 -> out (m,) int64.

    Equivalent to the O(m N) loop of the reference (min-distance update, then
    argmax with lowest-index ties) but skips every leaf whose bounding box is
    at least as far from the new sample as the leaf's largest min-distance:
    no distance in it can shrink. The skip test is exact, not approximate:
    rounding is monotone, so the float32 box distance computed with the same
    operations never exceeds a contained point's float32 distance.
    """
    n = pts.shape[0]
    out[0] = 0
    if m == 1:
        return
    x0 = pts[:, 0].copy()
    y0 = pts[:, 1].copy()
    z0 = pts[:, 2].copy()
    perm, bounds = _kd_leaves(x0, y0, z0, leaf_size)
    nleaf = bounds.shape[0] - 1
    for leaf in range(nleaf):
        perm[bounds[leaf]:bounds[leaf + 1]].sort()
    # leaf-major copies so each leaf is one contiguous, vectorisable run
    x = x0[perm]
    y = y0[perm]
    z = z0[perm]
    temp = np.full(n, np.inf, np.float32)
    bits = temp.view(np.int32)
    lox = np.empty(nleaf, np.float32)
    loy = np.empty(nleaf, np.float32)
    loz = np.empty(nleaf, np.float32)
    hix = np.empty(nleaf, np.float32)
    hiy = np.empty(nleaf, np.float32)
    hiz = np.empty(nleaf, np.float32)
    lmax = np.full(nleaf, np.inf, np.float32)  # largest min-distance in the leaf
    lidx = np.empty(nleaf, np.int32)  # its original index (lowest on ties)
    for leaf in range(nleaf):
        s = bounds[leaf]
        e = bounds[leaf + 1]
        lox[leaf] = x[s]
        hix[leaf] = x[s]
        loy[leaf] = y[s]
        hiy[leaf] = y[s]
        loz[leaf] = z[s]
        hiz[leaf] = z[s]
        for t in range(s + 1, e):
            lox[leaf] = min(lox[leaf], x[t])
            hix[leaf] = max(hix[leaf], x[t])
            loy[leaf] = min(loy[leaf], y[t])
            hiy[leaf] = max(hiy[leaf], y[t])
            loz[leaf] = min(loz[leaf], z[t])
            hiz[leaf] = max(hiz[leaf], z[t])
        lidx[leaf] = perm[s]
    zero = np.float32(0.0)
    gap = np.empty(nleaf, np.float32)
    lbits = lmax.view(np.int32)
    last = 0
    for i in range(1, m):
        px = x0[last]
        py = y0[last]
        pz = z0[last]
        # squared gap between the sample and every leaf box, branch-free so it
        # vectorises. Per axis it is (lo - p) or (p - hi) or 0: the same float
        # ops as a point's (x - p), so by monotone rounding no point of the
        # leaf has a smaller float32 squared distance than this bound.
        for leaf in range(nleaf):
            a = lox[leaf] - px
            b = px - hix[leaf]
            ex = a if a > b else b
            ex = ex if ex > zero else zero
            a = loy[leaf] - py
            b = py - hiy[leaf]
            ey = a if a > b else b
            ey = ey if ey > zero else zero
            a = loz[leaf] - pz
            b = pz - hiz[leaf]
            ez = a if a > b else b
            ez = ez if ez > zero else zero
            gap[leaf] = ex * ex + ey * ey + ez * ez
        for leaf in range(nleaf):
            # skip leaves where no min-distance can shrink
            if gap[leaf] < lmax[leaf]:
                s = bounds[leaf]
                e = bounds[leaf + 1]
                for t in range(s, e):
                    dx = x[t] - px
                    dy = y[t] - py
                    dz = z[t] - pz
                    d = dx * dx + dy * dy + dz * dz
                    cur = temp[t]
                    temp[t] = d if d < cur else cur  # select, not branch: vectorises
                # max over the bit patterns: for non-negative floats the int32
                # order is the float order, and integer max vectorises
                best = bits[s]
                for t in range(s + 1, e):
                    v = bits[t]
                    best = v if v > best else best
                # leaves keep ascending original indices, so the first
                # position holding the max is the lowest index among ties
                pos = s
                while bits[pos] != best:
                    pos += 1
                lmax[leaf] = temp[pos]
                lidx[leaf] = perm[pos]
        # global argmax: largest leaf max, lowest original index among ties
        gbits = lbits[0]
        for leaf in range(1, nleaf):
            v = lbits[leaf]
            gbits = v if v > gbits else gbits
        gidx = n
        for leaf in range(nleaf):
            cand = lidx[leaf] if lbits[leaf] == gbits else n
            gidx = cand if cand < gidx else gidx
        out[i] = gidx
        last = gidx


@njit(parallel=True, cache=True, nogil=True)
def furthest_point_sample(xyz, m, leaf_size=FPS_LEAF_SIZE):
    """xyz (B, N, 3) float32 C-contiguous, 1 <= m <= N -> idx (B, m) int64."""
    b_size = xyz.shape[0]
    out = np.empty((b_size, m), np.int64)
    for b in prange(b_size):
        _fps_one(xyz[b], m, out[b], leaf_size)
    return out


# Ball query bins points into a uniform grid of cells a little larger than
# the radius, so a ball touches at most 3x3x3 cells. The margin keeps that
# true despite rounding: a float32 hit (d < r2) has exact distance within a
# few ulps of radius, far below 0.1 %.
_CELL_MARGIN = 1.001
# Upper bound on grid cells per frame, as a multiple of the point count; the
# cell size grows past the radius when a tiny radius would need more.
_MAX_CELLS_PER_POINT = 4


@njit(cache=True, nogil=True)
def _grid_shape(pts, r2):
    """Grid over one frame's points (N, 3): returns (ox, oy, oz, h, gx, gy, gz).

    Origin at the points' minimum corner (float64), cell side ``h`` >= the
    radius (times a safety margin), at least one cell per axis.
    """
    n = pts.shape[0]
    lo = np.empty(3, np.float64)
    hi = np.empty(3, np.float64)
    for a in range(3):
        lo[a] = pts[0, a]
        hi[a] = pts[0, a]
    for j in range(1, n):
        for a in range(3):
            v = np.float64(pts[j, a])
            lo[a] = min(lo[a], v)
            hi[a] = max(hi[a], v)
    h = np.sqrt(np.float64(r2)) * _CELL_MARGIN
    max_cells = _MAX_CELLS_PER_POINT * n + 64
    while True:
        # cell counts in float64 first: a tiny radius would overflow integers
        fx = np.floor((hi[0] - lo[0]) / h) + 1.0
        fy = np.floor((hi[1] - lo[1]) / h) + 1.0
        fz = np.floor((hi[2] - lo[2]) / h) + 1.0
        if fx * fy * fz <= max_cells:
            break
        h *= 1.5
    return lo[0], lo[1], lo[2], h, int(fx), int(fy), int(fz)


@njit(cache=True, nogil=True)
def _cell_coord(v, origin, h, g):
    """Cell index along one axis, clamped to [-2, g + 1] (outside = no cell)."""
    c = np.floor((np.float64(v) - origin) / h)
    c = min(max(c, -2.0), g + 1.0)
    return int(c)


@njit(cache=True, nogil=True)
def _nearest(xs, ys, zs, cx, cy, cz, scratch):
    """Index of the point nearest (cx, cy, cz); lowest index on ties.

    xs, ys, zs: (N,) float32; scratch: (N,) float32 work space.
    """
    n = xs.shape[0]
    for j in range(n):
        dx = xs[j] - cx
        dy = ys[j] - cy
        dz = zs[j] - cz
        scratch[j] = dx * dx + dy * dy + dz * dz
    # min over the bit patterns of non-negative floats vectorises, a float
    # min with NaN semantics does not
    bits = scratch.view(np.int32)
    best = bits[0]
    for j in range(1, n):
        v = bits[j]
        best = v if v < best else best
    j = 0
    while bits[j] != best:
        j += 1
    return j


@njit(cache=True, nogil=True)
def _ball_query_frame(pts, ctr, r2, k, nearest_if_empty, out):
    """Ball query of one frame: pts (N, 3), ctr (M, 3) f32 -> out (M, k) int64.

    Points are counting-sorted into grid cells of side >= the radius; a
    centre examines the <= 27 cells around it (9 runs of 3 cells adjacent in
    memory), collects every hit and keeps the k smallest indices (= the
    first k in index order).
    """
    n = pts.shape[0]
    m = ctr.shape[0]
    # structure of arrays: the nearest-point scan vectorises over these
    xs = pts[:, 0].copy()
    ys = pts[:, 1].copy()
    zs = pts[:, 2].copy()
    hits = np.empty(n, np.int32)  # indices of the hits of one centre, unordered
    scratch = np.empty(n, np.float32)
    any_inside = r2 > 0  # d < 0 never holds: with radius 0 every row is empty
    ox, oy, oz, h, gx, gy, gz = _grid_shape(pts, r2) if any_inside else (0.0, 0.0, 0.0, 1.0, 1, 1, 1)
    ncell = gx * gy * gz
    # cell c holds sorted positions cell_start[c] .. cell_start[c + 1]
    cell_start = np.zeros(ncell + 1, np.int64)
    sx = np.empty(n, np.float32)
    sy = np.empty(n, np.float32)
    sz = np.empty(n, np.float32)
    sidx = np.empty(n, np.int32)
    if any_inside:
        cid = np.empty(n, np.int64)
        for j in range(n):
            ix = min(_cell_coord(xs[j], ox, h, gx), gx - 1)
            iy = min(_cell_coord(ys[j], oy, h, gy), gy - 1)
            iz = min(_cell_coord(zs[j], oz, h, gz), gz - 1)
            cid[j] = (ix * gy + iy) * gz + iz
            cell_start[cid[j] + 1] += 1
        for c in range(ncell):
            cell_start[c + 1] += cell_start[c]
        fill = cell_start[:ncell].copy()
        for j in range(n):  # counting sort into cells
            pos = fill[cid[j]]
            fill[cid[j]] += 1
            sx[pos] = xs[j]
            sy[pos] = ys[j]
            sz[pos] = zs[j]
            sidx[pos] = j
    for c in range(m):
        cx = ctr[c, 0]
        cy = ctr[c, 1]
        cz = ctr[c, 2]
        o = out[c]
        cnt = 0
        if any_inside:
            ix = _cell_coord(cx, ox, h, gx)
            iy = _cell_coord(cy, oy, h, gy)
            iz = _cell_coord(cz, oz, h, gz)
            z0 = max(iz - 1, 0)
            z1 = min(iz + 2, gz)
            if z0 < z1:
                for ax in range(max(ix - 1, 0), min(ix + 2, gx)):
                    for ay in range(max(iy - 1, 0), min(iy + 2, gy)):
                        # cells (ax, ay, z0..z1-1) are adjacent in the sorted arrays
                        run = (ax * gy + ay) * gz
                        for t in range(cell_start[run + z0], cell_start[run + z1]):
                            dx = sx[t] - cx
                            dy = sy[t] - cy
                            dz = sz[t] - cz
                            d = dx * dx + dy * dy + dz * dz
                            # branch-free append: hits are unpredictable
                            hits[cnt] = sidx[t]
                            cnt += 1 if d < r2 else 0
        if cnt == 0:
            fill_idx = 0
            if nearest_if_empty:
                fill_idx = _nearest(xs, ys, zs, cx, cy, cz, scratch)
            for s in range(k):
                o[s] = fill_idx
            continue
        # keep the k smallest indices, ascending, by insertion
        kept = 0
        for i in range(cnt):
            j = hits[i]
            if kept < k or j < o[k - 1]:
                pos = kept if kept < k else k - 1
                while pos > 0 and o[pos - 1] > j:
                    if pos < k:
                        o[pos] = o[pos - 1]
                    pos -= 1
                o[pos] = j
                if kept < k:
                    kept += 1
        for s in range(kept, k):
            o[s] = o[0]


@njit(parallel=True, cache=True, nogil=True)
def ball_query(xyz, centers, r2, k, nearest_if_empty):
    """First k points within the ball, in index order.

    xyz (B, N, 3) f32, centers (B, M, 3) f32, r2 = radius**2 as float32 ->
    idx (B, M, k) int64. A point is inside when its squared distance is
    strictly below ``r2`` (pointnet2's test). Slots after the last hit repeat
    the first hit. Rows with no hit get the nearest point (lowest index on
    ties) when ``nearest_if_empty``, else index 0.

    One parallel region over frames: with OpenMP's spinning barriers, every
    extra region costs dearly when other processes share the cores
    (measured: 4 regions took 120 ms instead of 21 ms at load 3.5 on 2 cores).
    """
    b_size = xyz.shape[0]
    out = np.empty((b_size, centers.shape[1], k), np.int64)
    r2 = np.float32(r2)
    for b in prange(b_size):
        _ball_query_frame(xyz[b], centers[b], r2, k, nearest_if_empty, out[b])
    return out
