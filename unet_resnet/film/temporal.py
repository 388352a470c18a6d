"""Steady colours along a film: each frame's predicted ab blended with the previous output carried along the motion.

Colorizing frames one by one makes colours jump: the model sees each frame anew, and grain, flicker or a small
camera move change its guess. Here, at the model's size (where the prediction lives), the motion between
consecutive frames is measured by optical flow on L (OpenCV's DIS), the previous frame's output ab is warped to
the current frame, and the two are blended where the flow can be trusted:

    ab_out = ab_pred + w * (warp(ab_prev_out) - ab_pred),   w = carry * reliable

A pixel is reliable when the flow is forward-backward consistent (Sundaram et al. 2010: the flow there and the
reverse flow at its target cancel), its source lies inside the previous frame, and its lightness matches that of
its source after the frame's global brightness change is removed. Occluded and newly seen regions therefore take
the new prediction. Because the previous output already carries its own history, the blend is a running average
along motion paths (about ``1 / (1 - carry)`` frames long). When few pixels are reliable (a scene cut, a flash),
the running average restarts from the new prediction. docs/video.md gives the measurements behind the settings.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class TemporalSettings:
    carry: float = 0.8
    """Weight of the warped previous colours where the flow is reliable (0: frame by frame)."""
    cut_below: float = 0.35
    """A frame with fewer reliable pixels than this fraction starts a new scene (the average restarts)."""
    lightness_tolerance: float = 0.06
    """L/100 difference to its warped source above which a pixel is not reliable (after global brightness)."""
    preset: int = cv2.DISOPTICAL_FLOW_PRESET_FAST
    """DIS preset: ULTRAFAST, FAST or MEDIUM."""


def _grid(h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    return xs, ys


def warp(image: np.ndarray, flow: np.ndarray, border: int = cv2.BORDER_REPLICATE) -> np.ndarray:
    """``image`` sampled at ``x + flow(x)`` (bilinear): ``(H, W)`` or ``(H, W, C)`` float32, ``flow (H, W, 2)``."""
    h, w = flow.shape[:2]
    xs, ys = _grid(h, w)
    return cv2.remap(image, xs + flow[..., 0], ys + flow[..., 1], cv2.INTER_LINEAR, borderMode=border)


def inside(flow: np.ndarray) -> np.ndarray:
    """Where ``x + flow(x)`` lies inside the frame: bool ``(H, W)``."""
    h, w = flow.shape[:2]
    xs, ys = _grid(h, w)
    x, y = xs + flow[..., 0], ys + flow[..., 1]
    return (x >= 0) & (x <= w - 1) & (y >= 0) & (y <= h - 1)


def consistent(backward: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """Forward-backward check: ``backward`` maps frame t to t-1, ``forward`` t-1 to t; bool ``(H, W)``.

    ``|b + f(x + b)|^2 <= 0.01 (|b|^2 + |f(x + b)|^2) + 0.5`` (Sundaram, Brox and Keutzer, ECCV 2010).
    """
    f = warp(forward, backward)
    total = backward + f
    return (total**2).sum(-1) <= 0.01 * ((backward**2).sum(-1) + (f**2).sum(-1)) + 0.5


def to_u8(L: np.ndarray) -> np.ndarray:
    """L/100 in ``[0, 1]`` -> uint8, the input of the flow."""
    return np.clip(L * 255.0 + 0.5, 0, 255).astype(np.uint8)


def reliability(
    L: np.ndarray, L_there: np.ndarray, flow: np.ndarray, flow_back: np.ndarray, tolerance: float
) -> np.ndarray:
    """Where the motion ``flow`` from a frame of lightness ``L`` to one of lightness ``L_there`` can be trusted.

    ``flow_back`` is the flow the other way. A pixel is reliable when the two flows cancel (:func:`consistent`),
    its target lies inside the other frame, and its L matches its target's once the median difference (global
    brightness flicker) is removed. Returns float32 ``(S, S)`` of 0 and 1.
    """
    ok = consistent(flow, flow_back) & inside(flow)
    diff = L - warp(L_there, flow)
    shift = float(np.median(diff[ok])) if ok.any() else 0.0  # global brightness flicker is not motion
    ok &= np.abs(diff - shift) <= tolerance
    return ok.astype(np.float32)


@dataclass
class Motion:
    """The motion between a frame and the one before it, at the model's size."""

    backward: np.ndarray
    """For each pixel of this frame, its offset to the same point in the previous frame: float32 ``(S, S, 2)``."""
    forward: np.ndarray
    """For each pixel of the previous frame, its offset to the same point in this one: float32 ``(S, S, 2)``."""
    reliable: np.ndarray
    """Where ``backward`` can be trusted (:func:`reliability`), float32 ``(S, S)`` of 0 and 1."""
    cut: bool
    """Too few reliable pixels: this frame starts a new shot."""


class MotionTracker:
    """Call it on each frame's ``L`` (``(S, S)`` L/100) in order: the :class:`Motion` from the previous frame
    (None at the first frame, or after :meth:`reset`). Counts scene cuts."""

    def __init__(self, settings: TemporalSettings | None = None) -> None:
        self.settings = settings or TemporalSettings()
        self.dis = cv2.DISOpticalFlow.create(self.settings.preset)
        self.cuts = 0
        self.reliable = 0.0
        """Fraction of reliable pixels at the last frame."""
        self.reset()

    def reset(self) -> None:
        self.prev_gray: np.ndarray | None = None
        self.prev_L: np.ndarray | None = None

    def _flow(self, frame: np.ndarray, to: np.ndarray) -> np.ndarray:
        """DIS flow: for each pixel of ``frame``, its offset to the same point in ``to`` (float32 ``(S, S, 2)``)."""
        return np.asarray(self.dis.calc(frame, to, None))  # type: ignore[call-overload]  # None: a new array

    def __call__(self, L: np.ndarray) -> Motion | None:
        L = np.asarray(L, np.float32)
        gray = to_u8(L)
        motion = None
        if self.prev_gray is not None and self.prev_L is not None:
            backward, forward = self._flow(gray, self.prev_gray), self._flow(self.prev_gray, gray)
            mask = reliability(L, self.prev_L, backward, forward, self.settings.lightness_tolerance)
            self.reliable = float(mask.mean())
            cut = self.reliable < self.settings.cut_below
            self.cuts += cut
            motion = Motion(backward, forward, mask, cut)
        self.prev_gray, self.prev_L = gray, L
        return motion


class TemporalSmoother:
    """Call it on each frame in order with ``(L, ab)`` at the model's size; it returns the ab to render.

    ``L``: ``(S, S)`` L/100 in ``[0, 1]``; ``ab``: ``(2, S, S)`` in ``[-1, 1]``. Counts frames and scene cuts.
    Its :class:`MotionTracker` is ``tracker``; :meth:`blend` takes a motion measured elsewhere.
    """

    def __init__(self, settings: TemporalSettings | None = None) -> None:
        self.settings = settings or TemporalSettings()
        if not 0.0 <= self.settings.carry < 1.0:
            raise ValueError(f"carry must be in [0, 1), got {self.settings.carry}")
        self.tracker = MotionTracker(self.settings)
        self.reset()

    @property
    def cuts(self) -> int:
        return self.tracker.cuts

    @property
    def reliable(self) -> float:
        """Fraction of reliable pixels at the last frame."""
        return self.tracker.reliable

    def reset(self) -> None:
        self.tracker.reset()
        self.prev_ab: np.ndarray | None = None

    def blend(self, ab: np.ndarray, motion: Motion | None) -> np.ndarray:
        """``ab`` blended with the previous output carried along ``motion`` (None or a cut: ``ab`` itself)."""
        out = np.asarray(ab, np.float32)
        if self.prev_ab is not None and motion is not None and not motion.cut and self.settings.carry > 0.0:
            mask = cv2.GaussianBlur(motion.reliable, (5, 5), 0)  # soft edges: no seams where reliability changes
            warped = warp(np.ascontiguousarray(self.prev_ab.transpose(1, 2, 0)), motion.backward).transpose(2, 0, 1)
            out = out + self.settings.carry * mask[None] * (warped - out)
        self.prev_ab = out
        return out

    def __call__(self, L: np.ndarray, ab: np.ndarray) -> np.ndarray:
        motion = self.tracker(L) if self.settings.carry > 0.0 else None
        return self.blend(ab, motion)
