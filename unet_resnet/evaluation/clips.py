"""Test films with known true colours and known motion, and the temporal warp error of Lai et al. (ECCV 2018).

A clip is a virtual camera moving over a colour photo (pan, zoom, small rotation): every frame is an affine view of
the photo, so the true colours of each frame are known, and so is the exact motion between frames (no flow has to
be estimated to score a method, which keeps the measurement independent of the flow the method uses). The film
given to a colorizer is the clip's lightness with film grain and brightness flicker (:func:`film_of`).

Warp error (Lai, Huang, Wang, Shechtman, Yumer and Yang, "Learning Blind Video Temporal Consistency", ECCV 2018):

    E_warp = 1/(T-1) sum_{t>=2} [ sum_x M_t(x) ||O_t(x) - warp(O_{t-1})(x)||^2 / sum_x M_t(x) ]

on RGB in ``[0, 1]``, where ``warp`` follows the true motion from frame t back to t-1 and ``M_t`` masks the pixels
not visible in frame t-1 (here: those whose source falls outside frame t-1 or outside the photo).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from unet_resnet.data.color import rgb_to_lab

MOTIONS = ("pan", "zoom", "rotate")


@dataclass
class Clip:
    """``frames``: true colour frames, uint8 RGB ``(H, W, 3)``; ``flows[t]``: for each pixel of frame t, its offset
    to the same scene point in frame t-1 (``flows[0]`` is None); ``masks[t]``: where that point is visible."""

    frames: list[np.ndarray]
    flows: list[np.ndarray | None]
    masks: list[np.ndarray | None]


def _camera(t: int, motion: str, size: tuple[int, int], photo: tuple[int, int], speed: float) -> np.ndarray:
    """3x3 map from frame pixel to photo pixel at frame ``t``."""
    (w, h), (pw, ph) = size, photo
    centre = np.array([pw / 2.0, ph / 2.0])
    angle, zoom = 0.0, 1.0
    if motion == "pan":
        centre = centre + np.array([speed * t - speed * 6, 0.3 * speed * t - 0.3 * speed * 6])
    elif motion == "zoom":
        zoom = 1.0 + 0.01 * speed * t
    elif motion == "rotate":
        angle = np.deg2rad(0.4 * speed * t)
    else:
        raise ValueError(f"motion must be one of {', '.join(MOTIONS)}, got {motion!r}")
    c, s = np.cos(angle) / zoom, np.sin(angle) / zoom
    to_centre = np.array([[1, 0, -(w - 1) / 2.0], [0, 1, -(h - 1) / 2.0], [0, 0, 1]])
    turn = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    place = np.array([[1, 0, centre[0] - 0.5], [0, 1, centre[1] - 0.5], [0, 0, 1]])
    return place @ turn @ to_centre


def camera_clip(photo: np.ndarray, frames: int, size: tuple[int, int], motion: str, speed: float = 2.0) -> Clip:
    """A ``frames``-long clip of ``size`` (width, height) over ``photo`` (uint8 RGB, larger than ``size``).

    ``speed``: pixels per frame for a pan, 1% zoom per frame per unit, 0.4 degrees per frame per unit.
    """
    ph, pw = photo.shape[:2]
    w, h = size
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    points = np.stack([xs, ys, np.ones_like(xs)], -1)
    clip = Clip([], [], [])
    previous: np.ndarray | None = None
    for t in range(frames):
        A = _camera(t, motion, size, (pw, ph), speed)
        frame = cv2.warpAffine(photo, A[:2], (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
        clip.frames.append(frame)
        src = points @ A.T
        seen = (src[..., 0] >= 0) & (src[..., 0] <= pw - 1) & (src[..., 1] >= 0) & (src[..., 1] <= ph - 1)
        if previous is None:
            clip.flows.append(None)
            clip.masks.append(None)
        else:
            there = src @ np.linalg.inv(previous).T
            flow = (there[..., :2] - points[..., :2]).astype(np.float32)
            inside = (there[..., 0] >= 0) & (there[..., 0] <= w - 1) & (there[..., 1] >= 0) & (there[..., 1] <= h - 1)
            clip.flows.append(flow)
            clip.masks.append(inside & seen)
        previous = A
    return clip


def film_of(frames: Sequence[np.ndarray], rng: np.random.Generator, grain: float, flicker: float) -> list[np.ndarray]:
    """The black-and-white film of a clip: each frame's lightness as uint8 RGB gray, times a per-frame gain
    ``1 + N(0, flicker)``, plus Gaussian grain of ``grain`` (in 0-255 units)."""
    film = []
    for frame in frames:
        gray = rgb_to_lab(frame.astype(np.float32) / 255.0)[..., 0] * 2.55
        gray = gray * (1.0 + rng.normal(0.0, flicker)) + rng.normal(0.0, grain, gray.shape)
        g8 = np.clip(gray + 0.5, 0, 255).astype(np.uint8)
        film.append(np.repeat(g8[..., None], 3, axis=2))
    return film


def warp_to(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``image`` sampled at ``x + flow(x)`` (bilinear)."""
    h, w = flow.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return cv2.remap(image, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _values(frame: np.ndarray, space: str) -> np.ndarray:
    rgb = frame.astype(np.float32) / 255.0
    return rgb if space == "rgb" else rgb_to_lab(rgb)[..., 1:]


def warp_error(
    frames: Sequence[np.ndarray],
    flows: Sequence[np.ndarray | None],
    masks: Sequence[np.ndarray | None],
    space: str = "rgb",
) -> float:
    """Lai et al.'s ``E_warp`` of uint8 RGB ``frames`` along ``flows`` (t -> t-1) with occlusion ``masks``.

    ``space="rgb"``: on RGB in ``[0, 1]`` (the paper's); ``"ab"``: on CIE a and b in Lab units, the colour alone
    (a colorizer keeps the film's own lightness, grain and flicker included, so only ab is its doing).
    """
    if space not in ("rgb", "ab"):
        raise ValueError(f"space must be 'rgb' or 'ab', got {space!r}")
    errors = []
    for t in range(1, len(frames)):
        flow, mask = flows[t], masks[t]
        if flow is None or mask is None or not mask.any():
            continue
        now = _values(frames[t], space)
        before = warp_to(_values(frames[t - 1], space), flow)
        errors.append(float(((now - before) ** 2).sum(-1)[mask].mean()))
    if not errors:
        raise ValueError("warp error needs at least two frames with visible pixels in common")
    return float(np.mean(errors))
