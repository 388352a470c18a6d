"""Colour hints at the model's resolution: the encoding shared by training and inference, and the training sampler.

A hint map is float32 ``(3, H, W)``: the hint's ab (``ab / 128`` in ``[-1, 1]``) where a hint is and 0 elsewhere,
then the mask (1 where a hint is). It is what a hint generator takes after L (:class:`~unet_resnet.models.generator.
UNetGenerator` with ``hints=True``). A hint is a square patch of ``side`` pixels; patches always lie inside the image
(a patch near an edge is moved in, never cut), so a patch keeps its size whatever the image's size.

The sampler follows Zhang et al., "Real-Time User-Guided Image Colorization with Learned Deep Priors" (2017): the
number of points is geometric (``P(n) = p (1 - p)^n``), each patch's side is uniform in ``[patch_min, patch_max]``
(pixels at 256x256, scaled with the image), positions are gaussian around the centre or uniform, and each patch's
value is the mean true ab over the patch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from unet_resnet.config import HintConfig

HINT_CHANNELS = 3
"""Channels a hint generator takes after L: hint a, hint b, mask."""
REFERENCE_SIZE = 256
"""The image side at which ``hints.patch_min`` / ``hints.patch_max`` are given."""


@dataclass(frozen=True)
class Patch:
    """One hint at the model's resolution: top-left corner, side, and its ab in ``[-1, 1]``."""

    x0: int
    y0: int
    side: int
    a: float
    b: float


def scaled_side(side_at_256: int, size: int) -> int:
    """A patch side given at 256x256, for an image of side ``size`` (at least 1 pixel)."""
    return max(1, round(side_at_256 * size / REFERENCE_SIZE))


def place(cx: float, cy: float, side: int, height: int, width: int) -> tuple[int, int]:
    """Top-left corner of a ``side`` square centred near ``(cx, cy)``, moved inside a ``height x width`` image."""
    side = min(side, height, width)
    x0 = int(np.floor(cx - (side - 1) / 2.0 + 0.5))
    y0 = int(np.floor(cy - (side - 1) / 2.0 + 0.5))
    return min(max(x0, 0), width - side), min(max(y0, 0), height - side)


def paint(patches: Sequence[Patch], height: int, width: int) -> np.ndarray:
    """The hint map ``(3, height, width)`` float32 of ``patches`` (a later patch covers an earlier one)."""
    hint = np.zeros((HINT_CHANNELS, height, width), np.float32)
    for p in patches:
        side = min(p.side, height, width)
        window = (slice(p.y0, p.y0 + side), slice(p.x0, p.x0 + side))
        hint[0][window] = p.a
        hint[1][window] = p.b
        hint[2][window] = 1.0
    return hint


def patch_mean(ab: np.ndarray, x0: int, y0: int, side: int) -> tuple[float, float]:
    """Mean of ``ab (2, H, W)`` over the square at ``(x0, y0)`` of ``side`` pixels."""
    window = ab[:, y0 : y0 + side, x0 : x0 + side]
    return float(window[0].mean()), float(window[1].mean())


def sample_centres(
    rng: np.random.Generator, count: int, height: int, width: int, position: str = "gaussian", sigma: float = 0.25
) -> np.ndarray:
    """``(count, 2)`` float ``(x, y)`` patch centres: gaussian around the centre (``sigma`` x the side, clipped
    into the image) or uniform."""
    if position == "uniform":
        return np.stack([rng.uniform(0, width, count), rng.uniform(0, height, count)], axis=1) - 0.5
    if position != "gaussian":
        raise ValueError(f"hint positions must be 'gaussian' or 'uniform', got {position!r}")
    xy = rng.normal(size=(count, 2)) * sigma * np.array([width, height]) + np.array([width, height]) / 2.0 - 0.5
    return np.clip(xy, 0.0, np.array([width - 1.0, height - 1.0]))


def sample_count(rng: np.random.Generator, p: float, max_points: int) -> int:
    """Geometric number of points: 0 with probability ``p``, ``(1 - p) / p`` on average, at most ``max_points``."""
    return min(int(rng.geometric(p)) - 1, max_points)


def patches_from_truth(
    ab: np.ndarray, centres: np.ndarray, sides: Sequence[int] | np.ndarray
) -> list[Patch]:
    """A patch at each centre (moved inside the image) whose value is the mean true ``ab (2, H, W)`` over it."""
    _, height, width = ab.shape
    patches = []
    for (cx, cy), side in zip(centres, sides, strict=True):
        side = min(int(side), height, width)
        x0, y0 = place(float(cx), float(cy), side, height, width)
        a, b = patch_mean(ab, x0, y0, side)
        patches.append(Patch(x0, y0, side, a, b))
    return patches


def sample_hints(ab: np.ndarray, rng: np.random.Generator, cfg: HintConfig) -> tuple[np.ndarray, list[Patch]]:
    """Simulated hints of a training photo whose true colour is ``ab (2, H, W)`` in ``[-1, 1]``.

    Returns the hint map ``(3, H, W)`` float32 and its patches. All randomness comes from ``rng``.
    """
    _, height, width = ab.shape
    count = sample_count(rng, cfg.p, cfg.max_points)
    side_of = max(height, width)
    lo, hi = scaled_side(cfg.patch_min, side_of), scaled_side(cfg.patch_max, side_of)
    sides = rng.integers(lo, hi + 1, size=count)
    centres = sample_centres(rng, count, height, width, cfg.position, cfg.sigma)
    patches = patches_from_truth(ab, centres, sides)
    return paint(patches, height, width), patches
