"""Keyframe colours carried through their shot, forward and backward along the motion, at the model's size.

Each keyframe's colours are followed frame by frame, both ways, to the ends of its shot (or to the next keyframe),
with the flow that :class:`~unet_resnet.film.temporal.MotionTracker` measures. What is followed is not the
colour itself but, for each pixel of the current frame, its position in the keyframe: the positions are carried
with the flow (a smooth field, so bilinear warping does not blur it) and the keyframe's ab is sampled there, so
colours do not soften with every frame. Beside the positions, a weight in ``[0, 1]`` says how sure the carry is:
it is multiplied at each frame by where the flow is reliable (forward-backward consistent, inside the frame, the
same lightness), so occluded and newly seen regions lose it. Isolated unreliable pixels (grain) are ignored.

A frame of a shot with keyframes gets, from each keyframe that reaches it (the one before, the one after), the
carried ab ``K_i`` and weight ``w_i``; the keyframes share by distance (linear between the two) and reliability:

    K = sum(s_i w_i K_i) / sum(s_i w_i),   W = 1 - prod(1 - w_i)
    ab = W K + (1 - W) (A + R),   R = F(W (K - A)) / (F(W) + eps)

where ``A`` is the automatic (steady) ab of the frame and ``F`` the edge-aware filter of the hint spreading
(:func:`~unet_resnet.hints.spread.edge_aware_filter`, guided by L and the model's colours): where the carry
is lost, the model's colours are corrected by the carried colours around them, spread within the same region, so
a region half seen in the keyframe keeps its colour as it comes into view, and far from any carried colour the
model's own colours remain.

Streaming (:class:`KeyframeCarrier`): frames come in order and leave in order. A frame is held only while a later
keyframe may still be in its shot (from the shot's start to that keyframe); a cut releases the held frames. A shot
without a keyframe leaves with its automatic colours untouched, and nothing crosses a cut.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import cv2
import numpy as np

from unet_resnet.film.temporal import Motion, TemporalSettings, reliability, warp
from unet_resnet.hints.spread import AB_GUIDE, GUIDE_BLUR, edge_aware_filter

FILL_REACH = 0.25
"""How far carried colours correct the model's colours into the regions the carry lost, in image sides."""
FILL_EDGE = 0.1
"""The filter's range scale there: an L/100 step of this size costs as much as ``FILL_REACH`` of distance."""
FILL_FLOOR = 0.05
"""``eps`` above: far from carried colours (their filtered weight below this) the correction fades out."""
SPECK = 3
"""Unreliable patches narrower than this many pixels (grain, noise of the flow) do not stop the carry."""


def clean(reliable: np.ndarray) -> np.ndarray:
    """A reliability mask with unreliable specks smaller than :data:`SPECK` pixels removed (float32 0/1)."""
    kernel = np.ones((SPECK, SPECK), np.uint8)
    lost = cv2.morphologyEx((reliable < 0.5).astype(np.uint8), cv2.MORPH_OPEN, kernel)
    return (1 - lost).astype(np.float32)


@dataclass
class Carried:
    """One keyframe's colours at the current frame: positions in the keyframe and the weight of the carry."""

    key: int
    """The keyframe's frame number."""
    positions: np.ndarray
    """For each pixel of the current frame, the keyframe pixel it shows: float32 ``(S, S, 2)`` (x, y)."""
    weight: np.ndarray
    """float32 ``(S, S)`` in ``[0, 1]``."""

    @classmethod
    def start(cls, key: int, size: int) -> Carried:
        ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
        return cls(key, np.stack([xs, ys], -1), np.ones((size, size), np.float32))

    def step(self, flow: np.ndarray, reliable: np.ndarray) -> Carried:
        """The carry one frame on: ``flow`` maps each pixel of the new frame to the frame the carry is at."""
        positions = warp(self.positions, flow)
        weight = warp(self.weight, flow, cv2.BORDER_CONSTANT) * clean(reliable)
        return Carried(self.key, positions, weight)

    def colours(self, ab_key: np.ndarray) -> np.ndarray:
        """The keyframe's ``ab_key (2, S, S)`` at the carried positions, ``(2, S, S)``."""
        hwc = np.ascontiguousarray(ab_key.transpose(1, 2, 0))
        sampled = cv2.remap(
            hwc, self.positions[..., 0], self.positions[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        return np.ascontiguousarray(sampled.transpose(2, 0, 1))


@dataclass
class FrameRecord:
    """A frame on its way through the carrier. ``payload`` is the caller's (e.g. the frame's pixels)."""

    index: int
    L: np.ndarray
    """L/100 at the model's size ``(S, S)``, upright."""
    ab: np.ndarray
    """The automatic ab ``(2, S, S)`` on the way in; the ab to render on the way out."""
    motion: Motion | None
    """The motion from the previous frame (None at the first frame)."""
    payload: object = None
    carried: list[Carried] = field(default_factory=list)


def blend(record: FrameRecord, keyframes: Mapping[int, np.ndarray]) -> np.ndarray:
    """The ab of a frame reached by the keyframe carries ``record.carried`` (none: its automatic ab)."""
    A = record.ab
    if not record.carried:
        return A
    keys = [c.key for c in record.carried]
    if len(record.carried) == 1:
        shares = [1.0]
    else:  # linear in the distance between the keyframe before and the one after
        span = float(abs(keys[1] - keys[0])) or 1.0
        shares = [abs(keys[1 - i] - record.index) / span for i in range(2)]
    num = np.zeros_like(A)
    den = np.zeros(A.shape[1:], np.float32)
    lost = np.ones(A.shape[1:], np.float32)
    for share, carry in zip(shares, record.carried, strict=True):
        a = share * carry.weight
        num += a[None] * carry.colours(keyframes[carry.key])
        den += a
        lost *= 1.0 - carry.weight
    K = num / np.maximum(den, 1e-6)[None]
    W = 1.0 - lost
    if float(W.min()) >= 0.999:
        return K.astype(np.float32)
    if float(W.max()) <= 0.0:
        return A
    colours = [AB_GUIDE * cv2.GaussianBlur(c, (0, 0), GUIDE_BLUR) for c in A]
    guide = np.stack([record.L.astype(np.float32), *colours])
    side = max(record.L.shape)
    stack = np.concatenate([W[None] * (K - A), W[None]])
    filtered = edge_aware_filter(stack, guide, FILL_REACH * side, FILL_EDGE)
    R = filtered[:2] / (filtered[2] + FILL_FLOOR)[None]
    out = W[None] * K + (1.0 - W[None]) * (A + R)
    return np.clip(out, -1.0, 1.0).astype(np.float32)


class KeyframeCarrier:
    """Frames in order (:meth:`push`) -> frames in order with their final ab (:meth:`push`, :meth:`finish`).

    ``keyframes``: frame number -> ab ``(2, S, S)`` at the model's size, upright. ``held`` is the number of frames
    waiting now, ``most_held`` the largest it has been.
    """

    def __init__(self, keyframes: Mapping[int, np.ndarray], settings: TemporalSettings | None = None) -> None:
        self.keyframes = dict(keyframes)
        self.last_key = max(self.keyframes, default=-1)
        self.settings = settings or TemporalSettings()
        self.waiting: list[FrameRecord] = []
        self.forward: Carried | None = None
        self.most_held = 0
        self.previous: np.ndarray | None = None
        """The ab of the last frame that left, when a keyframe reached it (steadies the next: :meth:`_finish`)."""

    @property
    def held(self) -> int:
        return len(self.waiting)

    def _finish(self, record: FrameRecord) -> FrameRecord:
        """The frame's final ab: :func:`blend`, then steadied along the motion like the automatic colours
        (:class:`~unet_resnet.film.temporal.TemporalSmoother`), except at a keyframe itself."""
        reached = bool(record.carried)
        ab = blend(record, self.keyframes)
        m = record.motion
        if reached and self.previous is not None and m is not None and not m.cut and record.index not in self.keyframes:
            mask = cv2.GaussianBlur(m.reliable, (5, 5), 0) * m.reliable  # soft edges, none where unreliable
            warped = warp(np.ascontiguousarray(self.previous.transpose(1, 2, 0)), m.backward).transpose(2, 0, 1)
            ab = ab + self.settings.carry * mask[None] * (warped - ab)
        record.ab, record.carried = ab, []
        self.previous = ab if reached else None
        return record

    def _release(self) -> list[FrameRecord]:
        out = [self._finish(record) for record in self.waiting]
        self.waiting = []
        return out

    def _backward(self, key: int, later: FrameRecord) -> None:
        """Carry keyframe ``key`` (at ``later``) back over the waiting frames: from the shot's start, or from the
        previous keyframe of the shot, on."""
        carry = Carried.start(key, later.L.shape[0])
        for record in reversed(self.waiting):
            assert later.motion is not None  # a waiting frame is never the last before a cut
            m = later.motion
            tolerance = self.settings.lightness_tolerance
            carry = carry.step(m.forward, reliability(record.L, later.L, m.forward, m.backward, tolerance))
            record.carried.append(carry)
            later = record

    def push(self, record: FrameRecord) -> list[FrameRecord]:
        """Take the next frame; returns the frames that are ready (possibly none), in order."""
        ready: list[FrameRecord] = []
        if record.motion is None or record.motion.cut:
            ready += self._release()
            self.forward = None
        elif self.forward is not None:
            self.forward = self.forward.step(record.motion.backward, record.motion.reliable)
            record.carried.append(self.forward)
        if record.index in self.keyframes:
            self._backward(record.index, record)
            ready += self._release()
            self.forward = Carried.start(record.index, record.L.shape[0])
            record.carried = [self.forward]
        if record.index < self.last_key:
            self.waiting.append(record)  # a later keyframe may be in this shot
            self.most_held = max(self.most_held, len(self.waiting))
        else:
            ready.append(self._finish(record))
        return ready

    def finish(self) -> list[FrameRecord]:
        """The frames still waiting at the end of the film."""
        self.forward = None
        return self._release()
