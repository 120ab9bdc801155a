"""Sizes and processor values of the tiny test models (shared by conftest and tests)."""
TINY_FRAMES = 4
TINY_IMAGE = 32
TINY_DIM = 16
# distinctive values so a test can tell they were read from the saved processor config
XCLIP_MEAN = [0.25, 0.5, 0.75]
XCLIP_STD = [0.2, 0.4, 0.5]
OPEN_CLIP_MEAN = [0.1, 0.2, 0.3]
OPEN_CLIP_STD = [0.3, 0.2, 0.1]
