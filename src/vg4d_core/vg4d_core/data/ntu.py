"""NTU RGB+D 60 / 120: names, evaluation protocols, raw files.

Video names follow ``SsssCcccPpppRrrrAaaa``: setup (1-32), camera (1-3),
performer (1-106), replication (1-2), action (1-120), all 1-based. NTU60 is
setups 1-17 and actions 1-60; NTU120 adds setups 18-32 and actions 61-120.
Labels are ``action - 1`` (all 120 actions; PSTNet's conversion script globs
``A0%02d`` and so silently skips actions 100-120).

Raw layout (as the dataset is distributed)::

    ROOT/nturgb+d_depth_masked/<name>/MDepth-00000001.png ...  # 512 x 424 uint16 mm, 0 = no data
    ROOT/nturgb+d_rgb/<name>_rgb.avi                          # 1920 x 1080, 30 fps

Protocols (facts from the dataset papers; the test split is the rest of the
protocol's videos):

* ``ntu60_cs`` - cross-subject: train on the 20 performers of
  :data:`NTU60_CS_TRAIN_PERFORMERS` (40,320 train / 16,560 test videos);
* ``ntu60_cv`` - cross-view: train on cameras 2 and 3, test on camera 1;
* ``ntu120_csub`` - cross-subject: train on the 53 performers of
  :data:`NTU120_CSUB_TRAIN_PERFORMERS`;
* ``ntu120_cset`` - cross-setup: train on even setup numbers, test on odd.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from vg4d_core.data.png16 import decode_png16

CLASS_NAMES: tuple[str, ...] = (
    'drink water', 'eat meal/snack', 'brushing teeth', 'brushing hair', 'drop', 'pickup', 'throw',
    'sitting down', 'standing up (from sitting position)', 'clapping', 'reading', 'writing', 'tear up paper',
    'wear jacket', 'take off jacket', 'wear a shoe', 'take off a shoe', 'wear on glasses', 'take off glasses',
    'put on a hat/cap', 'take off a hat/cap', 'cheer up', 'hand waving', 'kicking something',
    'reach into pocket', 'hopping (one foot jumping)', 'jump up', 'make a phone call/answer phone',
    'playing with phone/tablet', 'typing on a keyboard', 'pointing to something with finger', 'taking a selfie',
    'check time (from watch)', 'rub two hands together', 'nod head/bow', 'shake head', 'wipe face', 'salute',
    'put the palms together', 'cross hands in front (say stop)', 'sneeze/cough', 'staggering', 'falling',
    'touch head (headache)', 'touch chest (stomachache/heart pain)', 'touch back (backache)',
    'touch neck (neckache)', 'nausea or vomiting condition', 'use a fan (with hand or paper)/feeling warm',
    'punching/slapping other person', 'kicking other person', 'pushing other person',
    'pat on back of other person', 'point finger at the other person', 'hugging other person',
    'giving something to other person', "touch other person's pocket", 'handshaking',
    'walking towards each other', 'walking apart from each other', 'put on headphone', 'take off headphone',
    'shoot at the basket', 'bounce ball', 'tennis bat swing', 'juggling table tennis balls', 'hush (quite)',
    'flick hair', 'thumb up', 'thumb down', 'make ok sign', 'make victory sign', 'staple book', 'counting money',
    'cutting nails', 'cutting paper (using scissors)', 'snapping fingers', 'open bottle', 'sniff (smell)',
    'squat down', 'toss a coin', 'fold paper', 'ball up paper', 'play magic cube', 'apply cream on face',
    'apply cream on hand back', 'put on bag', 'take off bag', 'put something into a bag',
    'take something out of a bag', 'open a box', 'move heavy objects', 'shake fist', 'throw up cap/hat',
    'hands up (both hands)', 'cross arms', 'arm circles', 'arm swings', 'running on the spot',
    'butt kicks (kick backward)', 'cross toe touch', 'side kick', 'yawn', 'stretch oneself', 'blow nose',
    'hit other person with something', 'wield knife towards other person',
    'knock over other person (hit with body)', "grab other person's stuff", 'shoot at other person with a gun',
    'step on foot', 'high-five', 'cheers and drink', 'carry something with other person',
    'take a photo of other person', 'follow other person', "whisper in other person's ear",
    'exchange things with other person', 'support somebody with hand',
    'finger-guessing game (playing rock-paper-scissors)',
)

# the two-person ("mutual") actions, A50-A60 and A106-A120: recorded as one masked depth of both people
NTU_MUTUAL_ACTIONS: tuple[str, ...] = CLASS_NAMES[49:60] + CLASS_NAMES[105:120]

NTU60_CS_TRAIN_PERFORMERS = frozenset({1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38})
NTU120_CSUB_TRAIN_PERFORMERS = NTU60_CS_TRAIN_PERFORMERS | frozenset({
    45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84, 85, 86, 89, 91, 92, 93, 94,
    95, 97, 98, 100, 103})
NTU60_CV_TRAIN_CAMERAS = frozenset({2, 3})
NTU120_CSET_TRAIN_SETUPS = frozenset(range(2, 33, 2))
NTU60_MAX_SETUP, NTU60_MAX_ACTION = 17, 60
NTU120_MAX_SETUP, NTU120_MAX_ACTION = 32, 120
NTU60_NUM_PERFORMERS, NTU120_NUM_PERFORMERS = 40, 106

DEPTH_DIR = "nturgb+d_depth_masked"
RGB_DIR = "nturgb+d_rgb"
DEPTH_SIZE = (512, 424)  # width, height
_NAME = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")
_FRAME = re.compile(r"^MDepth-(\d+)\.png$")


@dataclass(frozen=True, order=True)
class NtuName:
    """The five fields of an NTU video name (all 1-based)."""

    setup: int
    camera: int
    performer: int
    replication: int
    action: int

    def __str__(self) -> str:
        return (f"S{self.setup:03d}C{self.camera:03d}P{self.performer:03d}"
                f"R{self.replication:03d}A{self.action:03d}")

    @property
    def label(self) -> int:
        return self.action - 1


def parse_name(name: str | Path) -> NtuName:
    """``S001C002P003R002A058`` (optionally a path or with a suffix such as
    ``_rgb.avi``) -> NtuName; ValueError naming the input when it does not fit."""
    base = Path(name).name
    m = _NAME.match(base)
    if not m:
        raise ValueError(f"not an NTU RGB+D video name (SsssCcccPpppRrrrAaaa): {str(name)!r}")
    n = NtuName(*(int(g) for g in m.groups()))
    limits = {"setup": (1, NTU120_MAX_SETUP), "camera": (1, 3), "performer": (1, NTU120_NUM_PERFORMERS),
              "replication": (1, 2), "action": (1, NTU120_MAX_ACTION)}
    for field_name, (lo, hi) in limits.items():
        value = getattr(n, field_name)
        if not lo <= value <= hi:
            raise ValueError(f"{str(name)!r}: {field_name} {value} outside {lo}..{hi}")
    return n


@dataclass(frozen=True)
class Protocol:
    """One NTU evaluation protocol."""

    name: str
    num_classes: int
    max_setup: int

    def contains(self, n: NtuName) -> bool:
        """Whether the video belongs to this benchmark at all (NTU60 excludes NTU120-only videos)."""
        return n.setup <= self.max_setup and n.action <= self.num_classes

    def is_train(self, n: NtuName) -> bool:
        if self.name == "ntu60_cs":
            return n.performer in NTU60_CS_TRAIN_PERFORMERS
        if self.name == "ntu60_cv":
            return n.camera in NTU60_CV_TRAIN_CAMERAS
        if self.name == "ntu120_csub":
            return n.performer in NTU120_CSUB_TRAIN_PERFORMERS
        if self.name == "ntu120_cset":
            return n.setup in NTU120_CSET_TRAIN_SETUPS
        raise ValueError(f"unknown NTU protocol {self.name!r}")

    def split_of(self, n: NtuName) -> str | None:
        """"train", "test", or None when the video is outside the protocol."""
        if not self.contains(n):
            return None
        return "train" if self.is_train(n) else "test"


PROTOCOLS: dict[str, Protocol] = {
    "ntu60_cs": Protocol("ntu60_cs", NTU60_MAX_ACTION, NTU60_MAX_SETUP),
    "ntu60_cv": Protocol("ntu60_cv", NTU60_MAX_ACTION, NTU60_MAX_SETUP),
    "ntu120_csub": Protocol("ntu120_csub", NTU120_MAX_ACTION, NTU120_MAX_SETUP),
    "ntu120_cset": Protocol("ntu120_cset", NTU120_MAX_ACTION, NTU120_MAX_SETUP),
}


def get_protocol(name: str) -> Protocol:
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise ValueError(f"unknown NTU protocol {name!r}; choose from {sorted(PROTOCOLS)}") from None


# -- raw files ----------------------------------------------------------------
def depth_video_dir(root: str | Path, name: str | NtuName) -> Path:
    return Path(root) / DEPTH_DIR / str(name)


def rgb_video_path(root: str | Path, name: str | NtuName) -> Path:
    return Path(root) / RGB_DIR / f"{name}_rgb.avi"


def scan_depth_videos(root: str | Path) -> tuple[list[str], list[str]]:
    """NTU video folders under ``root/nturgb+d_depth_masked`` and the entries that are not.

    Returns ``(names, ignored)``, both sorted: ``names`` the folders named
    exactly ``SsssCcccPpppRrrrAaaa`` (valid fields), ``ignored`` every other
    entry (misnamed folders, files). A missing ``nturgb+d_depth_masked``
    folder is an error.
    """
    base = Path(root) / DEPTH_DIR
    if not base.is_dir():
        raise FileNotFoundError(f"NTU masked depth folder not found: {base}")
    names, ignored = [], []
    for p in base.iterdir():
        ok = False
        if p.is_dir() and len(p.name) == 20:
            try:
                parse_name(p.name)
                ok = True
            except ValueError:
                pass
        (names if ok else ignored).append(p.name)
    return sorted(names), sorted(ignored)


def list_depth_videos(root: str | Path) -> list[str]:
    """Sorted names of the masked-depth video folders under ``root``.

    Folders whose name is not an NTU name are ignored (:func:`scan_depth_videos`
    lists them); a missing ``nturgb+d_depth_masked`` folder is an error.
    """
    return scan_depth_videos(root)[0]


def list_depth_frames(video_dir: str | Path) -> list[Path]:
    """``MDepth-*.png`` files of one video, in frame order (by number, not by string)."""
    video_dir = Path(video_dir)
    if not video_dir.is_dir():
        raise FileNotFoundError(f"NTU depth video folder not found: {video_dir}")
    frames = []
    for p in video_dir.iterdir():
        m = _FRAME.match(p.name)
        if m:
            frames.append((int(m.group(1)), p))
    frames.sort()
    return [p for _, p in frames]


def read_depth_png(path: str | Path, expected_size: tuple[int, int] | None = DEPTH_SIZE) -> np.ndarray:
    """One masked depth frame -> uint16 (H, W) millimetres, 0 = no data.

    16-bit grayscale PNGs go through the fast decoder of
    :mod:`vg4d_core.data.png16`; anything else through OpenCV. Raises
    ValueError naming the file when it cannot be decoded, is not
    single-channel 16-bit, or (with ``expected_size`` = (W, H)) has another size.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{path}: unreadable ({exc})") from exc
    img = None
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        try:
            img = decode_png16(data)
        except ValueError as exc:
            raise ValueError(f"{path}: corrupt PNG ({exc})") from None
    if img is None:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) if data else None
    if img is None:
        raise ValueError(f"{path}: corrupt or not an image ({len(data)} bytes)")
    if img.dtype != np.uint16 or img.ndim != 2:
        raise ValueError(f"{path}: expected a single-channel 16-bit depth PNG, got {img.dtype} {img.shape}")
    if expected_size is not None and (img.shape[1], img.shape[0]) != tuple(expected_size):
        raise ValueError(f"{path}: size {img.shape[1]}x{img.shape[0]}, expected "
                         f"{expected_size[0]}x{expected_size[1]}")
    return img
