"""Person candidates: one frame's foreground split into the people in it.

The single-person pipeline puts every foreground point of a frame into one
cloud. With several people in view that cloud is a chimera; this module
splits a frame's foreground (the output of :mod:`vg4d_ros.pipeline.foreground`)
into one :class:`PersonCandidate` per person, which :mod:`vg4d_ros.pipeline.tracks`
then follows across frames.

Geometry (all metres, the camera optical frame: x right, y down, z forward).
"Up" is :attr:`PeopleSettings.up` (default ``(0, -1, 0)``, an upright
camera); "height" is the extent of a set of points along up, "horizontal"
is the plane perpendicular to up, and "width" is the extent of the points'
horizontal projection along its principal axis (the larger eigenvector of
its 2 x 2 covariance): for a person seen by a depth camera, the shoulder
span, whatever the direction the person stands in.

:func:`split_people` (connected components):

1. voxelise (``voxel_m`` cubes, aligned to the origin) and join occupied
   voxels that touch (``connectivity`` 6, 18 or 26 neighbours); two people
   are separate when at least one empty voxel lies between them, so the
   default 0.10 m keeps people apart who do not touch and joins the parts of
   one person that depth noise or thin limbs leave loosely connected;
2. drop components with fewer than ``min_points`` points (specks, noise) or
   whose height is outside ``[min_height_m, max_height_m]`` (a table top or
   a low shelf is too flat, a door frame or a pillar too tall; a sitting or
   crouching person, ~0.6 m and up, still counts);
3. a component wider than ``max_width_m`` is more than one person (people
   standing shoulder to shoulder, holding hands): it is never returned as
   one; :func:`split_wide` cuts it into ``ceil(width / max_width_m)`` parts
   along its principal horizontal axis. Trade-off: one person wider than
   ``max_width_m`` (arms spread: arm span ~ body height) is cut too, and two
   strangers who appear already touching are one person until they part.
   The default, 2.0 m, keeps arms spread whole (1.2 m cut MSR-Action3D's
   "two hand wave" in two: ``offline/msr_composite.py``); people who are
   tracked apart before they touch are split by the tracker at any width,
   seeded by their predicted positions.
4. people closer than ``voxel_m`` but narrower together than
   ``max_width_m`` (side by side at ~0.5-0.7 m between centres) are told
   apart by their heads: :func:`split_tops` cuts a component at the deepest
   valley of its top profile (the highest point per 5 cm along its
   principal horizontal axis) when that valley is ``split_dip_m`` below the
   lower of the two tops beside it and both parts stand: each reaches down
   to within ``split_ground_m`` of the component's lowest point and has a
   trunk (:data:`MIN_TRUNK_M` wide between 40 % and 70 % of its height). A
   raised hand makes a top and a valley too, but the arm's side of such a
   cut is the arm and at most a sliver of the body, so one person with
   raised or spread arms stays whole.
   Parts are split again while they qualify (three people in a row).
5. a piece that is no person by itself but lies within ``attach_m`` of one
   (a hand or forearm held towards the camera, which the depth step between
   it and the body leaves a voxel or two apart; an object in a hand) joins
   the nearest person: the pieces dropped by steps 2-4 that are no taller
   than ``min_height_m`` and hold at most a quarter of the person's points
   (:data:`MAX_PIECE_SHARE`; a table top beside a person is not taken
   unless it is small). Without it
   people mode lost the very limbs that tell MSR-Action3D's arm actions
   apart (1-9 % of the person, 0.15-0.33 m from the body, in 2 % of subject
   6's frames), and scored 3.3 points below the single-person path on one
   person alone.

Three implementations of step 1 give the same partition (a test asserts it):
the dense one (``scipy.ndimage.label`` on an occupancy grid over the points'
bounding box), used whenever that grid has at most :data:`MAX_DENSE_VOXELS`
voxels; the sparse one (occupied voxels as sorted int64 keys, each voxel's
neighbours found by binary search, ``scipy.sparse.csgraph`` components), used
above that; and :func:`label_components_naive`, a readable breadth-first
search over a dict of voxels, the reference. Before the dense and sparse
ones each axis's voxel coordinates are compressed (a gap of two or more
empty voxel slices becomes exactly one), which keeps adjacency exactly and
bounds the grid by the points rather than their spread: a stray point far
from the rest does not blow the grid up.

:func:`split_instance_mask` is the alternative when a segmentation node
gives an instance mask (pixel value = instance id, 0 = background): the
points are grouped by id instead of by connectivity.

Invalid points: rows with a non-finite coordinate, or one beyond
:data:`MAX_ABS_COORD_M` (no sensor returns that; it would overflow the
voxel indices), are dropped, not rejected: a depth frame's invalid returns
are routine and must not stop the frame. Candidates' ``indices`` always
index the caller's array, so the caller's points need no cleaning first.
Cost: ~15 ms for a 100k-point foreground of three people on one CPU core (dense path; sparse ~25 ms).
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

# the dense path allocates one byte and one int32 label per voxel of the (compressed) bounding box: 4 M
# voxels is ~20 MB, beyond that the sparse path is cheaper than the grid
MAX_DENSE_VOXELS = 4_000_000
# coordinates beyond this (metres) are not a sensor's: dropped like NaN (see the module docstring)
MAX_ABS_COORD_M = 1.0e6
METHODS = ("auto", "dense", "sparse", "naive")
CONNECTIVITIES = (6, 18, 26)
# a piece joins a person (step 5) only when it holds at most this share of the person's points: the limbs
# it is for were 1-9 % of the person on MSR-Action3D
MAX_PIECE_SHARE = 0.25
# the sparse path packs three compressed voxel coordinates into one int64 key
_MAX_KEY = 2 ** 62


@dataclass(frozen=True)
class PeopleSettings:
    """What a person is (metres, camera optical frame).

    Attributes:
        voxel_m: edge of the voxels that connectivity is decided on; people
            closer than about this are one component.
        min_points: fewer points than this is not a person (noise, specks).
        min_height_m, max_height_m: a person's extent along ``up``; 0.5 m
            keeps a sitting or crouching person, 2.3 m a tall one with raised
            arms.
        max_width_m: the horizontal extent (along the principal horizontal
            axis) of one person; a wider component is split
            (:func:`split_wide`); ``math.inf`` never splits.
        up: ``[x, y, z]`` direction of up in the camera frame (any length
            > 0); ``(0, -1, 0)`` for an upright optical frame.
        connectivity: voxels that touch by a face (6), a face or an edge
            (18), or also a corner (26) are connected.
        split_dip_m: two tops of one component (heads) with a valley at
            least this deep between them are two people, cut at the valley
            (:func:`split_tops`), when both parts stand: ``math.inf`` never.
        split_ground_m: that cut is made only when each part comes within
            this of the component's lowest point (people stand on one floor;
            a raised arm, whose top also makes a valley beside the head, does
            not reach it).
        attach_m: a piece that is no person (no taller than ``min_height_m``,
            at most :data:`MAX_PIECE_SHARE` of the person's points) within
            this distance of a person's points joins that person (step 5);
            0 = never.
    """

    voxel_m: float = 0.10
    min_points: int = 64
    min_height_m: float = 0.5
    max_height_m: float = 2.3
    max_width_m: float = 2.0
    up: tuple[float, float, float] = (0.0, -1.0, 0.0)
    connectivity: int = 26
    split_dip_m: float = 0.15
    split_ground_m: float = 0.3
    attach_m: float = 0.35

    def __post_init__(self) -> None:
        if not (math.isfinite(self.voxel_m) and self.voxel_m > 0):
            raise ValueError(f"PeopleSettings.voxel_m must be a finite length > 0 metres, got {self.voxel_m!r}")
        if isinstance(self.min_points, bool) or not isinstance(self.min_points, (int, np.integer)) \
                or self.min_points < 1:
            raise ValueError(f"PeopleSettings.min_points must be an integer >= 1, got {self.min_points!r}")
        if not (math.isfinite(self.min_height_m) and self.min_height_m >= 0):
            raise ValueError(f"PeopleSettings.min_height_m must be finite and >= 0 metres, got {self.min_height_m!r}")
        if not (math.isfinite(self.max_height_m) and self.max_height_m > self.min_height_m):
            raise ValueError(f"PeopleSettings.max_height_m must be finite and > min_height_m "
                             f"({self.min_height_m!r}), got {self.max_height_m!r}")
        if math.isnan(self.max_width_m) or not self.max_width_m > 0:
            raise ValueError(f"PeopleSettings.max_width_m must be > 0 metres (inf: never split), "
                             f"got {self.max_width_m!r}")
        up = np.asarray(self.up, dtype=np.float64) if not isinstance(self.up, str) else np.zeros(0)
        if up.shape != (3,) or not np.all(np.isfinite(up)) or not np.linalg.norm(up) > 0:
            raise ValueError(f"PeopleSettings.up must be a nonzero finite [x, y, z], got {self.up!r}")
        object.__setattr__(self, "up", tuple(float(v) for v in up))  # hashable whatever sequence was given
        if isinstance(self.connectivity, bool) or self.connectivity not in CONNECTIVITIES:
            raise ValueError(f"PeopleSettings.connectivity must be one of {CONNECTIVITIES}, got {self.connectivity!r}")
        if math.isnan(self.split_dip_m) or not self.split_dip_m > 0:
            raise ValueError(f"PeopleSettings.split_dip_m must be > 0 metres (inf: never split), "
                             f"got {self.split_dip_m!r}")
        if not (math.isfinite(self.split_ground_m) and self.split_ground_m >= 0):
            raise ValueError(f"PeopleSettings.split_ground_m must be finite and >= 0 metres, "
                             f"got {self.split_ground_m!r}")
        if not (math.isfinite(self.attach_m) and self.attach_m >= 0):
            raise ValueError(f"PeopleSettings.attach_m must be finite and >= 0 metres (0: never), "
                             f"got {self.attach_m!r}")


@dataclass(frozen=True, eq=False)
class PersonCandidate:
    """One person in one frame (metres, the input points' frame).

    Attributes:
        indices: (N,) int64, ascending: rows of the frame's points array.
        centroid: (3,) float64 mean of the points.
        box_min, box_max: (3,) float64 corners of the axis-aligned box.
        num_points: N.
        height_m: extent along ``up``.
        width_m: horizontal extent along the principal horizontal axis.
        instance_id: the instance mask's id (:func:`split_instance_mask`);
            0 for connected components.
    """

    indices: np.ndarray
    centroid: np.ndarray
    box_min: np.ndarray
    box_max: np.ndarray
    num_points: int
    height_m: float
    width_m: float
    instance_id: int = 0


def horizontal_basis(up) -> np.ndarray:
    """(3, 3) float64 orthonormal rows ``e1, e2, u``: ``u`` is unit ``up``, ``e1`` and ``e2`` span the
    horizontal plane (``e1`` is camera x made horizontal, or camera z if x is nearly along up). For
    up = (0, -1, 0): ``e1`` = x, ``e2`` = z, so horizontal coordinates are (x, z)."""
    u = np.asarray(up, dtype=np.float64)
    u = u / np.linalg.norm(u)
    ref = np.array([1.0, 0.0, 0.0]) if abs(u[0]) < 0.9 else np.array([0.0, 0.0, 1.0])
    e1 = ref - (ref @ u) * u
    e1 /= np.linalg.norm(e1)
    return np.stack([e1, np.cross(u, e1), u])


def principal_axis(horizontal: np.ndarray) -> np.ndarray:
    """(2,) unit principal axis of (N, 2) horizontal coordinates; its sign is fixed (largest component
    positive) so the same points always give the same axis. (1, 0) for fewer than two distinct points."""
    h = np.asarray(horizontal, dtype=np.float64)
    if h.shape[0] < 2:
        return np.array([1.0, 0.0])
    q = h - _columns(h, np.mean)
    cov = q.T @ q
    if not np.any(cov):
        return np.array([1.0, 0.0])
    _, vecs = np.linalg.eigh(cov)  # ascending eigenvalues: the last column is the principal axis
    axis = vecs[:, 1]
    return axis if axis[int(np.argmax(np.abs(axis)))] > 0 else -axis


def _columns(a: np.ndarray, reduce) -> np.ndarray:
    """``reduce`` of each column of (N, C) ``a``: (C,). Column by column, because numpy's ``axis=0``
    reduction of a tall, narrow array is ~50x slower (it walks the short rows)."""
    return np.array([reduce(a[:, j]) for j in range(a.shape[1])])


def _valid_rows(points_m) -> tuple[np.ndarray, np.ndarray]:
    """The points as (P, 3) float64 and the (P,) bool of rows that are usable (finite, within range)."""
    pts = np.asarray(points_m)
    if pts.ndim != 2 or pts.shape[1] != 3:
        raise ValueError(f"points_m must be (P, 3) metres, got shape {pts.shape}")
    if not (np.issubdtype(pts.dtype, np.floating) or np.issubdtype(pts.dtype, np.integer)):
        raise ValueError(f"points_m must be a float array, got dtype {pts.dtype}")
    pts = pts.astype(np.float64, copy=False)
    a = np.abs(pts)
    with np.errstate(invalid="ignore"):  # NaN compares False: dropped with the rest
        ok = (a[:, 0] <= MAX_ABS_COORD_M) & (a[:, 1] <= MAX_ABS_COORD_M) & (a[:, 2] <= MAX_ABS_COORD_M)
    return pts, ok


def candidate_from_rows(pts: np.ndarray, indices: np.ndarray, basis: np.ndarray,
                        instance_id: int = 0) -> PersonCandidate:
    """The candidate of rows ``indices`` (ascending) of (P, 3) float64 ``pts``."""
    idx = np.asarray(indices, dtype=np.int64).copy()
    p = pts[idx]
    along_up = p @ basis[2]
    h = p @ basis[:2].T
    axis = principal_axis(h)
    s = h @ axis
    arrays = [idx, _columns(p, np.mean), _columns(p, np.min), _columns(p, np.max)]
    for a in arrays:
        a.setflags(write=False)  # the dataclass is frozen; so are its arrays
    return PersonCandidate(indices=arrays[0], centroid=arrays[1], box_min=arrays[2], box_max=arrays[3],
                           num_points=int(idx.size), height_m=float(np.ptp(along_up)), width_m=float(np.ptp(s)),
                           instance_id=int(instance_id))


def _sorted(cands: list[PersonCandidate]) -> list[PersonCandidate]:
    """Candidates by centroid x, then z (then first index: a total order, so always the same list)."""
    return sorted(cands, key=lambda c: (float(c.centroid[0]), float(c.centroid[2]), int(c.indices[0])))


# ---------------------------------------------------------------------------------------------------------
# connected components of occupied voxels


def _offsets(connectivity: int) -> list[tuple[int, int, int]]:
    """Neighbour offsets: 6 (faces), 18 (+ edges) or 26 (+ corners)."""
    rank = {6: 1, 18: 2, 26: 3}[connectivity]
    return [(a, b, c) for a in (-1, 0, 1) for b in (-1, 0, 1) for c in (-1, 0, 1)
            if 0 < abs(a) + abs(b) + abs(c) <= rank]


def _voxels(pts: np.ndarray, voxel_m: float) -> np.ndarray:
    """(N, 3) int64 voxel coordinates of (N, 3) float64 points (floor of p / voxel_m)."""
    return np.floor(pts / voxel_m).astype(np.int64)


def _compress(vox: np.ndarray) -> np.ndarray:
    """(N, 3) voxel coordinates with each axis's gaps of two or more empty slices shrunk to one empty slice:
    neighbours (difference 0 or 1) stay neighbours, non-neighbours stay apart; coordinates start at 0."""
    out = np.empty_like(vox)
    for a in range(3):
        v = vox[:, a]
        lo, hi = int(v.min()), int(v.max())
        if hi - lo <= 4 * v.size + 4096:
            # the usual case (a room at a few cm per voxel): a lookup table over the span, no sort
            occupied = np.zeros(hi - lo + 1, dtype=bool)
            occupied[v - lo] = True
            values = np.flatnonzero(occupied)
            table = np.zeros(hi - lo + 1, dtype=np.int64)
            table[values] = np.concatenate([[0], np.cumsum(np.minimum(np.diff(values), 2))])
            out[:, a] = table[v - lo]
        else:  # a stray point far away: the span would be mostly empty, sort the values instead
            values, inverse = np.unique(v, return_inverse=True)
            out[:, a] = np.concatenate([[0], np.cumsum(np.minimum(np.diff(values), 2))])[inverse.reshape(-1)]
    return out


def _canonical(labels: np.ndarray) -> np.ndarray:
    """Labels renumbered 0, 1, ... in the order of each component's first point; -1 stays -1. Two methods
    that find the same partition then give equal arrays."""
    out = np.full(labels.shape, -1, dtype=np.int64)
    rows = np.flatnonzero(labels >= 0)
    if rows.size == 0:
        return out
    lab = labels[rows]
    first = np.full(int(lab.max()) + 1, labels.size, dtype=np.int64)
    np.minimum.at(first, lab, rows)  # each label's first row (labels that do not occur keep labels.size)
    rank = np.empty(first.size, dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(first.size)
    out[rows] = rank[lab]
    return out


def _label_dense(comp: np.ndarray, connectivity: int) -> np.ndarray:
    """Component per point: ``ndimage.label`` on the occupancy grid of compressed voxel coordinates."""
    shape = tuple(int(v) + 1 for v in _columns(comp, np.max))
    grid = np.zeros(shape, dtype=bool)
    grid[comp[:, 0], comp[:, 1], comp[:, 2]] = True
    structure = ndimage.generate_binary_structure(3, {6: 1, 18: 2, 26: 3}[connectivity])
    labels, _ = ndimage.label(grid, structure=structure)
    return labels[comp[:, 0], comp[:, 1], comp[:, 2]].astype(np.int64) - 1


def _label_sparse(comp: np.ndarray, connectivity: int) -> np.ndarray:
    """Component per point without a grid: occupied voxels as sorted int64 keys; for each of half the
    neighbour offsets (the other half is the same edges reversed) a voxel's neighbour is found by binary
    search among the keys; the edges go to ``connected_components``. Memory ~ the occupied voxels only."""
    dims = [int(v) + 3 for v in _columns(comp, np.max)]  # +1 for the extent, +2 so a shifted coordinate never wraps
    if dims[0] * dims[1] * dims[2] >= _MAX_KEY:
        raise ValueError(f"points span {dims} distinct voxel slices: too many for one frame's connectivity")
    c = comp + 1

    def key(x: np.ndarray) -> np.ndarray:
        return (x[:, 0] * dims[1] + x[:, 1]) * dims[2] + x[:, 2]

    keys, first, inverse = np.unique(key(c), return_index=True, return_inverse=True)
    occupied = c[first]  # (V, 3) one row per occupied voxel, in key order
    n = keys.size
    rows, cols = [np.arange(n)], [np.arange(n)]  # self loops: an isolated voxel is its own component
    for off in _offsets(connectivity):
        if off <= (0, 0, 0):  # lexicographically negative: the reverse of a positive offset's edge
            continue
        nk = key(occupied + np.asarray(off))
        pos = np.minimum(np.searchsorted(keys, nk), n - 1)
        hit = keys[pos] == nk
        rows.append(np.flatnonzero(hit))
        cols.append(pos[hit])
    r, k = np.concatenate(rows), np.concatenate(cols)
    graph = coo_matrix((np.ones(r.size, dtype=np.int8), (r, k)), shape=(n, n)).tocsr()
    _, labels = connected_components(graph, directed=False)
    return labels.astype(np.int64)[inverse.reshape(-1)]


def label_components_naive(points_m, settings: PeopleSettings = PeopleSettings()) -> np.ndarray:
    """The reference for :func:`label_components`: a breadth-first search over a dict of voxels (raw voxel
    coordinates, no compression, no grid). Same output; slow (pure Python), for tests."""
    pts, ok = _valid_rows(points_m)
    labels = np.full(pts.shape[0], -1, dtype=np.int64)
    members: dict[tuple[int, int, int], list[int]] = {}
    for i in np.flatnonzero(ok):
        v = tuple(int(x) for x in np.floor(pts[i] / settings.voxel_m))
        members.setdefault(v, []).append(int(i))
    offsets = _offsets(settings.connectivity)
    component: dict[tuple[int, int, int], int] = {}
    count = 0
    for start in members:
        if start in component:
            continue
        component[start] = count
        queue = deque([start])
        while queue:
            v = queue.popleft()
            for d in offsets:
                w = (v[0] + d[0], v[1] + d[1], v[2] + d[2])
                if w in members and w not in component:
                    component[w] = count
                    queue.append(w)
        count += 1
    for v, rows in members.items():
        labels[rows] = component[v]
    return _canonical(labels)


def label_components(points_m, settings: PeopleSettings = PeopleSettings(), *, method: str = "auto") -> np.ndarray:
    """Connected component of each point: (P,) int64, components numbered 0, 1, ... in the order of their
    first point; -1 for dropped (invalid) rows.

    Args:
        points_m: (P, 3) points, metres.
        method: ``dense``, ``sparse``, ``naive`` (see the module docstring) or ``auto`` (dense when the
            compressed grid has at most :data:`MAX_DENSE_VOXELS` voxels, else sparse).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "naive":
        return label_components_naive(points_m, settings)
    return _labels(*_valid_rows(points_m), settings, method)


def _labels(pts: np.ndarray, ok: np.ndarray, settings: PeopleSettings, method: str) -> np.ndarray:
    """:func:`label_components` of validated points (``_valid_rows``) by the dense or sparse path."""
    if method == "naive":
        return label_components_naive(np.where(ok[:, None], pts, np.nan), settings)
    labels = np.full(pts.shape[0], -1, dtype=np.int64)
    if not ok.any():
        return labels
    comp = _compress(_voxels(pts[ok], settings.voxel_m))
    if method == "auto":
        grid = 1
        for v in _columns(comp, np.max):
            grid *= int(v) + 1
        method = "dense" if grid <= MAX_DENSE_VOXELS else "sparse"
    labels[ok] = (_label_dense if method == "dense" else _label_sparse)(comp, settings.connectivity)
    return _canonical(labels)


# ---------------------------------------------------------------------------------------------------------
# candidates


def _passes(c: PersonCandidate, settings: PeopleSettings) -> bool:
    """Enough points and a person's height (width is handled by splitting, not by rejection)."""
    return (c.num_points >= settings.min_points
            and settings.min_height_m <= c.height_m <= settings.max_height_m)


def _groups(labels: np.ndarray, min_points: int) -> list[np.ndarray]:
    """Row indices of each label >= 0 with at least ``min_points`` rows, in label order."""
    ok = labels >= 0
    if not ok.any():
        return []
    counts = np.bincount(labels[ok])
    # most components of a real frame are specks: only the big ones reach the per-component Python loop
    big = np.flatnonzero(counts >= min_points)
    if big.size <= 16:  # a few people: one comparison pass each beats sorting every point
        return [np.flatnonzero(labels == k) for k in big]
    order = np.argsort(labels, kind="stable")
    order = order[labels[order] >= 0]
    bounds = np.concatenate([[0], np.cumsum(counts)])
    return [order[bounds[k]:bounds[k + 1]] for k in big]


def split_people(points_m, settings: PeopleSettings = PeopleSettings(), *,
                 method: str = "auto") -> list[PersonCandidate]:
    """One frame's foreground -> its person candidates (see the module docstring).

    Args:
        points_m: (P, 3) float32 (or float64) foreground points, metres, camera optical frame; invalid
            rows are ignored.
        method: how connected components are found (:func:`label_components`); all give the same result.

    Returns:
        Candidates sorted by centroid x then z; their ``indices`` are disjoint rows of ``points_m``. Wide
        components come back as the parts :func:`split_wide` cuts them into. Empty input: [].
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    pts, ok = _valid_rows(points_m)
    if pts.shape[0] == 0:
        return []
    labels = _labels(pts, ok, settings, method)
    basis = horizontal_basis(settings.up)
    out: list[PersonCandidate] = []
    for rows in _groups(labels, settings.min_points):
        cand = candidate_from_rows(pts, rows, basis)
        if not _passes(cand, settings):
            continue
        parts = split_wide(pts, cand, None, settings) if cand.width_m > settings.max_width_m else [cand]
        for part in parts:
            out.extend(split_tops(pts, part, settings))
    if out and settings.attach_m > 0:
        out = attach_pieces(pts, labels, out, settings, basis=basis)
    return _sorted(out)


def attach_pieces(points_m: np.ndarray, labels: np.ndarray, people: list[PersonCandidate],
                  settings: PeopleSettings = PeopleSettings(), *, basis: np.ndarray | None = None
                  ) -> list[PersonCandidate]:
    """Step 5 of the module docstring: the foreground pieces left out of ``people`` join the nearest
    person when within ``settings.attach_m`` of their points.

    Args:
        points_m: (P, 3) the frame's points, metres (``labels`` and the people's ``indices`` index it).
        labels: (P,) int64 component of each row (-1: an invalid row), :func:`label_components`.
        people: the frame's candidates (disjoint indices).
        basis: :func:`horizontal_basis` of ``settings.up`` when the caller has it.
    Returns:
        The candidates, those that took a piece rebuilt with it (indices ascending); a piece taller than
        ``min_height_m`` (a pillar, a wall's edge the depth range kept) or holding more than
        :data:`MAX_PIECE_SHARE` of the person's points is never taken.
    """
    from scipy.spatial import cKDTree

    taken = np.zeros(labels.shape[0], bool)
    for c in people:
        taken[c.indices] = True
    left = np.flatnonzero((labels >= 0) & ~taken)
    if left.size == 0:
        return people
    basis = horizontal_basis(settings.up) if basis is None else basis
    trees = [cKDTree(points_m[c.indices]) for c in people]
    extra: list[list[np.ndarray]] = [[] for _ in people]
    order = np.argsort(labels[left], kind="stable")
    rows_by_piece = np.split(left[order], np.flatnonzero(np.diff(labels[left][order])) + 1)
    for rows in rows_by_piece:  # a component, or what steps 3-4 left of one
        piece = points_m[rows]
        if float(np.ptp(piece @ basis[2])) > settings.min_height_m:  # height as candidate_from_rows measures it
            continue
        gaps = [float(t.query(piece, k=1, distance_upper_bound=settings.attach_m)[0].min()) for t in trees]
        best = int(np.argmin(gaps))
        if gaps[best] <= settings.attach_m and rows.size <= MAX_PIECE_SHARE * people[best].num_points:
            extra[best].append(rows)
    return [c if not more else candidate_from_rows(points_m, np.sort(np.concatenate([c.indices, *more])), basis,
                                          c.instance_id)
            for c, more in zip(people, extra)]


TOP_BIN_M = 0.05  # the top profile's resolution along the principal axis (about a head's width / 4)
# a person's trunk is at least this wide (along the cut axis) between 40 % and 70 % of their height: a
# raised arm cut off with a sliver of the body beside it is not (~0.15 m)
MIN_TRUNK_M = 0.25
VALLEY_FLAT_M = 0.03  # a valley's bottom: the bins within this of its lowest top (metres)


def _stands(u: np.ndarray, s: np.ndarray, ground: float, settings: PeopleSettings) -> bool:
    """Whether one side of a cut is a person: it reaches down to within ``split_ground_m`` of ``ground``
    and has a trunk (``MIN_TRUNK_M`` wide, 2nd-98th percentile, between 40 % and 70 % of its height).
    ``u``: heights along up, ``s``: positions along the cut axis, metres."""
    if u.size == 0 or u.min() - ground > settings.split_ground_m:
        return False
    top = u.max()
    band = (u >= ground + 0.4 * (top - ground)) & (u <= ground + 0.7 * (top - ground))
    if band.sum() < 8:
        return False
    lo, hi = np.percentile(s[band], (2.0, 98.0))
    return bool(hi - lo >= MIN_TRUNK_M)


def split_tops(points_m, candidate: PersonCandidate,
               settings: PeopleSettings = PeopleSettings()) -> list[PersonCandidate]:
    """Cut a candidate that holds people standing closer together than ``voxel_m`` at the valleys between
    their heads (module docstring, step 4); returns ``[candidate]`` when there is no such valley.

    Args:
        points_m: (P, 3) the frame's points (``candidate.indices`` index it), metres.
        candidate: one connected component (or a part of one).
        settings: ``split_dip_m``, ``split_ground_m``, ``up`` and the person limits every part must pass.

    Returns:
        The parts along the principal horizontal axis; their indices partition ``candidate.indices``.
    """
    if not math.isfinite(settings.split_dip_m) or candidate.num_points < 2 * settings.min_points:
        return [candidate]
    pts, _ = _valid_rows(points_m)
    basis = horizontal_basis(settings.up)
    idx = candidate.indices
    p = pts[idx]
    h = p @ basis[:2].T
    s = h @ principal_axis(h)
    u = p @ basis[2]
    ground = u.min()
    b = np.floor((s - s.min()) / TOP_BIN_M).astype(np.int64)
    nb = int(b.max()) + 1
    if nb < 3:
        return [candidate]
    # empty bins (a gap the voxels bridged) are as low as the lowest point: a gap is a valley
    top = np.full(nb, ground)
    np.maximum.at(top, b, u)
    left_max = np.maximum.accumulate(top)
    right_max = np.maximum.accumulate(top[::-1])[::-1]
    dips = np.full(nb, -np.inf)
    dips[1:-1] = np.minimum(left_max[:-2], right_max[2:]) - top[1:-1]
    left, tried = None, np.zeros(nb, dtype=bool)
    for c in np.argsort(-dips, kind="stable"):  # deepest valley first
        if dips[c] < settings.split_dip_m:
            break
        if tried[c]:
            continue
        # the valley's flat bottom (bins within VALLEY_FLAT_M of its floor): people whose arms touch make a
        # plateau at shoulder height between their heads; the cut goes through its middle
        lo = hi = int(c)
        while lo > 1 and top[lo - 1] <= top[c] + VALLEY_FLAT_M:
            lo -= 1
        while hi < nb - 2 and top[hi + 1] <= top[c] + VALLEY_FLAT_M:
            hi += 1
        tried[lo:hi + 1] = True
        cut_s = s.min() + ((lo + hi) / 2.0 + 0.5) * TOP_BIN_M  # the middle of the bottom, along the axis
        side = s < cut_s
        if side.sum() < settings.min_points or (~side).sum() < settings.min_points:
            continue
        if _stands(u[side], s[side], ground, settings) and _stands(u[~side], s[~side], ground, settings):
            left = side
            break  # one side is an arm (with a sliver of the body) otherwise: try the next valley
    if left is None:
        return [candidate]
    parts = [candidate_from_rows(pts, idx[left], basis, candidate.instance_id),
             candidate_from_rows(pts, idx[~left], basis, candidate.instance_id)]
    if not all(_passes(q, settings) for q in parts):
        return [candidate]
    return [r for q in parts for r in split_tops(pts, q, settings)]


def split_wide(points_m, candidate: PersonCandidate, seeds=None,
               settings: PeopleSettings = PeopleSettings()) -> list[PersonCandidate]:
    """Cut one candidate that holds several people into one candidate per person.

    With ``seeds`` ((K, 3) metres: the tracker's predicted centroids of K people it knows to be in this
    candidate), each point goes to the seed nearest to it in the horizontal plane (ties: the first seed):
    the cut between two people is the vertical plane halfway between their predictions, wherever they
    stand (side by side, one in front of the other). Without seeds, a candidate wider than
    ``max_width_m`` is cut into ``k = ceil(width_m / max_width_m)`` parts along its principal horizontal
    axis by 1-D k-means on the points' projections (centres start at the (i + 0.5) / k quantiles, so the
    result is deterministic); a candidate no wider than that is returned as it is.

    A part that is not a person by itself (fewer than ``min_points`` points, or a height outside the
    limits: a seed at the candidate's edge that gets a sliver) gives its points back: its seed is dropped
    (the smallest failing part's first) and the cut is redone with the rest, until every part passes or
    one remains (then the result is ``[candidate]``). Parts are not checked against ``max_width_m``.

    Args:
        points_m: (P, 3) the frame's points (``candidate.indices`` index it).
        candidate: from :func:`split_people` (or any candidate of these points).
        seeds: (K, 3) metres or None.

    Returns:
        The parts, ordered like the surviving seeds (with seeds) or along the axis (without): their
        indices partition ``candidate.indices``.
    """
    pts, _ = _valid_rows(points_m)
    if candidate.indices.size and (candidate.indices.min() < 0 or candidate.indices.max() >= pts.shape[0]):
        raise ValueError(f"candidate indices out of range for {pts.shape[0]} points")
    basis = horizontal_basis(settings.up)
    idx = candidate.indices
    h = pts[idx] @ basis[:2].T  # (N, 2) horizontal coordinates
    if seeds is None:
        if not candidate.width_m > settings.max_width_m:
            return [candidate]
        axis = principal_axis(h)
        s = h @ axis
        k = int(math.ceil(candidate.width_m / settings.max_width_m))
        centres = np.quantile(s, (np.arange(k) + 0.5) / k)

        def assign(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return _kmeans_1d(s, c)
    else:
        seeds = np.asarray(seeds, dtype=np.float64)
        if seeds.ndim != 2 or seeds.shape[1] != 3 or not np.all(np.isfinite(seeds)):
            raise ValueError(f"seeds must be finite (K, 3) metres, got shape {seeds.shape}")
        if seeds.shape[0] == 0:
            return split_wide(pts, candidate, None, settings)
        centres = seeds @ basis[:2].T  # (K, 2)

        def assign(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            d = ((h[:, None, :] - c[None, :, :]) ** 2).sum(axis=2)
            return c, np.argmin(d, axis=1)  # fixed seeds: one nearest-seed pass

    while len(centres) > 1:
        centres, part = assign(centres)
        parts = [candidate_from_rows(pts, idx[part == j], basis, candidate.instance_id) if np.any(part == j) else None
                 for j in range(len(centres))]
        failing = [j for j, p in enumerate(parts) if p is None or not _passes(p, settings)]
        if not failing:
            return parts
        worst = min(failing, key=lambda j: (0 if parts[j] is None else parts[j].num_points, -j))
        centres = np.delete(centres, worst, axis=0)
    return [candidate]


def _kmeans_1d(s: np.ndarray, centres: np.ndarray, iterations: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd's iterations in 1-D from sorted ``centres``: (centres, label per value). A centre that loses
    all its values stays where it is (its part is then empty, and dropped by the caller)."""
    c = np.sort(np.asarray(centres, dtype=np.float64))
    part = np.zeros(s.shape[0], dtype=np.int64)
    for _ in range(iterations):
        # 1-D nearest centre: the boundaries are the midpoints between sorted centres
        part = np.searchsorted((c[1:] + c[:-1]) / 2.0, s, side="right")
        sums = np.bincount(part, weights=s, minlength=c.size)
        counts = np.bincount(part, minlength=c.size)
        new = np.where(counts > 0, sums / np.maximum(counts, 1), c)
        if np.array_equal(new, c):
            break
        c = new
    return c, part


def split_instance_mask(instance_ids, points_m, settings: PeopleSettings = PeopleSettings(), *,
                        largest_component: bool = True) -> list[PersonCandidate]:
    """Person candidates from an instance mask instead of connectivity.

    Args:
        instance_ids: (P,) integer instance id of each point (the mask image's value at the point's pixel;
            0 = background, ignored; negative ids are an error).
        points_m: (P, 3) points, metres; invalid rows are ignored.
        largest_component: keep only the largest connected component (``voxel_m``, ``connectivity``) of
            each instance: a mask's edge pixels bleed onto the background behind the person, and those
            points would drag the centroid and box metres away. Off: every point of the id counts.

    Returns:
        One candidate per instance that passes ``min_points`` and the height limits, with its
        ``instance_id``; sorted by centroid x then z. Instances are never split for width: the segmenter
        already separated the people, and one person with arms spread is one instance.
    """
    pts, ok = _valid_rows(points_m)
    ids = np.asarray(instance_ids)
    if ids.shape != (pts.shape[0],):
        raise ValueError(f"instance_ids must be ({pts.shape[0]},) like the points, got shape {ids.shape}")
    if not (np.issubdtype(ids.dtype, np.integer) or ids.dtype == bool):
        raise ValueError(f"instance_ids must be integers, got dtype {ids.dtype}")
    ids = ids.astype(np.int64)
    if ids.size and ids.min() < 0:
        raise ValueError(f"instance_ids must be >= 0 (0 = background), got {int(ids.min())}")
    keep = ok & (ids > 0)
    basis = horizontal_basis(settings.up)
    out: list[PersonCandidate] = []
    for instance in np.unique(ids[keep]):
        rows = np.flatnonzero(keep & (ids == instance))
        if rows.size < settings.min_points:
            continue
        if largest_component:
            labels = _labels(pts[rows], np.ones(rows.size, dtype=bool), settings, "auto")
            sizes = np.bincount(labels)
            rows = rows[labels == int(np.argmax(sizes))]  # ties: the component of the first point
        cand = candidate_from_rows(pts, rows, basis, int(instance))
        if _passes(cand, settings):
            out.append(cand)
    return _sorted(out)
