"""A TF tree without rclpy: the latest transform between any two frames, applied to points.

Both transports (the rclpy node and ``vg4d recognize --transport dds``) feed
:class:`TransformBuffer` with the ``tf2_msgs/msg/TFMessage`` messages of
``/tf_static`` (latched: every static transform, kept for good) and ``/tf``
(the latest transform per child frame), and the recogniser core asks it for
the transform of each point-cloud frame into ``input_frame`` (the camera
optical frame the model was trained in; see :mod:`vg4d_ros.pipeline.recognizer`).

Why not ``tf2_ros``: it exists on a robot, but not on PyPI (the tests here
run without a ROS installation), it needs an rclpy node (the DDS transport
has none), and its C++ buffer would make the two transports differ. The
recogniser only needs the newest transform of a small tree (no
interpolation in time), which is a few dictionary look-ups and 3 x 3
products per frame; one pure-Python buffer keeps the core testable and
identical across transports.

Conventions are tf2's: a ``TransformStamped`` with ``header.frame_id`` P
and ``child_frame_id`` C gives the pose of C in P, so a point ``p_C``
expressed in C is ``R @ p_C + t`` in P; each frame has at most one parent
(a tree); frame ids lose a leading ``/`` (tf2's ``stripSlash``).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np

TF_TOPIC = "/tf"  # tf2_msgs/msg/TFMessage, dynamic transforms (tf2_ros's names; remappable in the node)
TF_STATIC_TOPIC = "/tf_static"  # the same type, latched (transient local)
TF_TYPE = "tf2_msgs/msg/TFMessage"
MAX_FRAMES = 10_000  # a bound on the tree (a robot has tens to hundreds of frames)


class TransformError(LookupError):
    """No transform between two frames (yet), or a transform the tree refuses."""


def strip_slash(frame_id: str) -> str:
    """``/base_link`` -> ``base_link`` (tf2 strips a leading slash from every frame id it is given)."""
    return str(frame_id or "").lstrip("/")


def quaternion_matrix(x: float, y: float, z: float, w: float) -> np.ndarray:
    """The (3, 3) float64 rotation matrix of the quaternion ``(x, y, z, w)`` (normalised first).

    Raises:
        TransformError: a quaternion that is not finite or has (near) zero length.
    """
    q = np.array([x, y, z, w], dtype=np.float64)
    norm = float(np.linalg.norm(q))
    if not np.isfinite(q).all() or norm < 1e-9:
        raise TransformError(f"invalid rotation quaternion (x, y, z, w) = {tuple(q.tolist())}")
    x, y, z, w = q / norm
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


@dataclass(frozen=True)
class Rigid:
    """A rigid transform ``p -> rotation @ p + translation`` (float64)."""

    rotation: np.ndarray  # (3, 3)
    translation: np.ndarray  # (3,)

    @staticmethod
    def identity() -> Rigid:
        return Rigid(np.eye(3), np.zeros(3))

    def compose(self, inner: Rigid) -> Rigid:
        """``self`` after ``inner``: p -> self(inner(p))."""
        return Rigid(self.rotation @ inner.rotation, self.rotation @ inner.translation + self.translation)

    def inverse(self) -> Rigid:
        rt = self.rotation.T
        return Rigid(rt, -(rt @ self.translation))

    def apply(self, points: np.ndarray) -> np.ndarray:
        """(P, 3) points -> (P, 3) float32 transformed points.

        The chain is composed in float64, the points are moved in float32 (a 500k-point cloud in a few
        ms; the rounding, ~1e-7 of the distance, is far below any depth sensor's noise).
        """
        pts = np.asarray(points, dtype=np.float32).reshape(-1, 3)
        return pts @ self.rotation.T.astype(np.float32) + self.translation.astype(np.float32)


@dataclass(frozen=True)
class _Link:
    parent: str
    transform: Rigid  # child -> parent
    static: bool
    stamp_ns: int


class TransformBuffer:
    """Static and dynamic transforms of one TF tree; :meth:`lookup` chains them (thread-safe).

    Static transforms (``/tf_static``) stay until replaced; dynamic ones (``/tf``) keep the latest
    arrival per child frame (no time interpolation: the recogniser wants the present pose, and
    latest-by-arrival follows a bag loop or a sim-time reset). A transform that would give a frame a
    second parent, or close a cycle, is refused (:class:`TransformError`): the tree stays a tree.
    """

    def __init__(self) -> None:
        self._links: dict[str, _Link] = {}  # child -> its link to the parent
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._links)

    def frames(self) -> set[str]:
        with self._lock:
            return set(self._links) | {link.parent for link in self._links.values()}

    def set_transform(self, parent: str, child: str, translation: Iterable[float], rotation_xyzw: Iterable[float],
                      *, static: bool, stamp_ns: int = 0) -> None:
        """Add or replace the transform of ``child`` in ``parent``.

        Raises:
            TransformError: empty or equal frame ids, a bad quaternion or translation, a second
                parent for ``child``, or a cycle.
        """
        parent, child = strip_slash(parent), strip_slash(child)
        if not parent or not child:
            raise TransformError(f"transform {parent or '?'} -> {child or '?'} has an empty frame id")
        if parent == child:
            raise TransformError(f"transform from {child} to itself")
        t = np.asarray(list(translation), dtype=np.float64).reshape(-1)
        if t.shape != (3,) or not np.isfinite(t).all():
            raise TransformError(f"transform {parent} -> {child}: invalid translation {t.tolist()}")
        rigid = Rigid(quaternion_matrix(*rotation_xyzw), t)
        with self._lock:
            old = self._links.get(child)
            if old is not None and old.parent != parent:
                raise TransformError(f"{child} already has the parent {old.parent}: a transform giving it the "
                                     f"parent {parent} is refused (a TF tree gives each frame one parent)")
            if old is None:
                if len(self._links) >= MAX_FRAMES:
                    raise TransformError(f"more than {MAX_FRAMES} frames: {child} refused")
                frame, seen = parent, 0  # walking up from the new parent must not reach the child
                while frame in self._links and seen <= len(self._links):
                    if frame == child:
                        break
                    frame, seen = self._links[frame].parent, seen + 1
                if frame == child:
                    raise TransformError(f"transform {parent} -> {child} would close a cycle ({parent} is "
                                         f"below {child} in the tree)")
            self._links[child] = _Link(parent, rigid, bool(static), int(stamp_ns))

    def add_message(self, msg: Any, *, static: bool) -> list[str]:
        """Feed one ``tf2_msgs/msg/TFMessage`` (rosbags or rclpy object); returns the refusals in words.

        One bad transform does not stop the others of the message.
        """
        problems = []
        for ts in getattr(msg, "transforms", ()) or ():
            try:
                tr, rot = ts.transform.translation, ts.transform.rotation
                stamp = ts.header.stamp
                self.set_transform(ts.header.frame_id, ts.child_frame_id, (tr.x, tr.y, tr.z),
                                   (rot.x, rot.y, rot.z, rot.w), static=static,
                                   stamp_ns=int(stamp.sec) * 1_000_000_000 + int(stamp.nanosec))
            except TransformError as exc:
                problems.append(str(exc))
            except (AttributeError, TypeError, ValueError) as exc:
                problems.append(f"not a geometry_msgs/TransformStamped: {type(exc).__name__}: {exc}")
        return problems

    def _chain(self, frame: str) -> list[str]:
        """``frame`` and its ancestors, up to the root (the tree has no cycles)."""
        chain = [frame]
        while chain[-1] in self._links:
            chain.append(self._links[chain[-1]].parent)
        return chain

    def _to_ancestor(self, chain: list[str], upto: int) -> Rigid:
        """The transform from ``chain[0]`` into ``chain[upto]``."""
        out = Rigid.identity()
        for frame in chain[:upto]:
            out = self._links[frame].transform.compose(out)
        return out

    def lookup(self, target: str, source: str) -> Rigid:
        """The latest transform taking points in ``source`` to ``target``.

        Raises:
            TransformError: "no transform from <source> to <target> yet" when the two frames are not
                (yet) connected in the tree.
        """
        target, source = strip_slash(target), strip_slash(source)
        if not target or not source:
            raise TransformError(f"no transform from {source or repr('')} to {target or repr('')}: an empty "
                                 "frame id")
        if target == source:
            return Rigid.identity()
        with self._lock:
            up_source, up_target = self._chain(source), self._chain(target)
            where = {frame: i for i, frame in enumerate(up_target)}
            for i, frame in enumerate(up_source):
                if frame in where:  # the lowest common ancestor
                    to_common = self._to_ancestor(up_source, i)
                    return self._to_ancestor(up_target, where[frame]).inverse().compose(to_common)
        raise TransformError(f"no transform from {source} to {target} yet")

    def transform_points(self, points: np.ndarray, target: str, source: str) -> np.ndarray:
        """(P, 3) points in ``source`` -> (P, 3) float32 in ``target`` (see :meth:`lookup`)."""
        return self.lookup(target, source).apply(points)
