"""Spreading colour hints over the regions they fall in: the output honours every hint, whatever the network learnt.

A hint model learns to follow hints only slowly (docs/hints.md): after minutes of CPU training its output at a hint
is still 10-14 ab units from the requested colour. This step makes the output follow them exactly and carries each
correction over the region the hint falls in, stopping at edges, as a person placing a point expects:

1. each hint (a connected patch of the hint map's mask) asks for a correction ``r_k``: the requested ab minus the
   model's mean ab over the patch;
2. its reach ``g_k(x)`` is an edge-aware impulse response: the patch filtered with a domain-transform recursive
   filter (Gastal & Oliveira, "Domain Transform for Edge-Aware Image and Video Processing", SIGGRAPH 2011) guided
   by L and (smoothed, at half weight) the model's own ab, scaled to 1 at the patch; it falls off with distance,
   and much faster across an edge of L or of the predicted colours than along a flat region;
3. the corrections are interpolated with these kernels, ``R(x) = sum_k c_k g_k(x)``, where ``c`` solves the small
   system that makes ``R`` equal ``r_j`` at every hint ``j`` (lightly regularised): each hint is met, and ``R``
   fades to 0 away from all hints, so the photo elsewhere keeps the model's colours;
4. ``ab + R``, clipped to the valid range.

It runs at the model's resolution on the ``(2, size, size)`` output, before the ab is upsampled and joined with
the full-resolution L, and costs a few milliseconds per hint at 256.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

DEFAULT_SPREAD = 1.0
"""How far a hint's correction reaches along a flat region, as a share of the model's image side."""
EDGE = 0.2
"""Range scale of the filter: a step of this size in L/100 (or in ab/128) costs as much as ``spread`` of distance.

``DEFAULT_SPREAD`` and ``EDGE`` were chosen with the hint sweep on held-out photos (docs/hints.md)."""
RIDGE = 0.02
"""Regularisation of the interpolation system (keeps two clashing hints close together from overshooting)."""
ITERATIONS = 3
AB_GUIDE = 0.5
"""Weight of the model's own colours beside L in the guide (they separate regions of equal lightness)."""
GUIDE_BLUR = 2.0
"""Gaussian sigma (pixels at the model's size) that smooths the model's colours before they guide."""


def _recursive_pass(x: np.ndarray, weights: np.ndarray) -> None:
    """One causal and one anti-causal recursive pass along the last axis of ``x (K, H, W)``, in place;
    ``weights (H, W - 1)``: the feedback between each pair of neighbours."""
    width = x.shape[-1]
    for i in range(1, width):
        x[:, :, i] += weights[:, i - 1] * (x[:, :, i - 1] - x[:, :, i])
    for i in range(width - 2, -1, -1):
        x[:, :, i] += weights[:, i] * (x[:, :, i + 1] - x[:, :, i])


def edge_aware_filter(
    x: np.ndarray, guide: np.ndarray, sigma_s: float, sigma_r: float = EDGE, iterations: int = ITERATIONS
) -> np.ndarray:
    """Domain-transform recursive filtering of ``x (K, H, W)`` guided by ``guide (C, H, W)``.

    ``sigma_s``: spatial extent in pixels; ``sigma_r``: the guide difference that counts as one ``sigma_s`` of
    distance. Returns a new float64 array; ``x`` is not changed.
    """
    out = np.array(x, dtype=np.float64, copy=True)
    g = np.asarray(guide, dtype=np.float64)
    ratio = sigma_s / sigma_r
    dx = 1.0 + ratio * np.abs(np.diff(g, axis=2)).sum(axis=0)  # (H, W - 1): domain distance between neighbours
    dy = 1.0 + ratio * np.abs(np.diff(g, axis=1)).sum(axis=0)  # (H - 1, W)
    for i in range(iterations):
        sigma_i = sigma_s * math.sqrt(3.0) * 2.0 ** (iterations - i - 1) / math.sqrt(4.0**iterations - 1.0)
        a = math.exp(-math.sqrt(2.0) / sigma_i)
        if out.shape[2] > 1:
            _recursive_pass(out, a**dx)
        if out.shape[1] > 1:
            turned = np.ascontiguousarray(out.transpose(0, 2, 1))
            _recursive_pass(turned, (a**dy).T)
            out = np.ascontiguousarray(turned.transpose(0, 2, 1))
    return out


def spread_hints(
    ab: np.ndarray, L: np.ndarray, hint_map: np.ndarray, spread: float = DEFAULT_SPREAD, edge: float = EDGE
) -> np.ndarray:
    """The model's ``ab (2, H, W)`` (``ab / 128``) corrected so that it follows the hints of ``hint_map (3, H, W)``
    (hint a, hint b, mask), spread over their regions of ``L (H, W)`` (L/100). ``spread <= 0`` or no hint: ``ab``
    unchanged. Returns float32 ``(2, H, W)``."""
    ab = np.asarray(ab, dtype=np.float32)
    mask = np.asarray(hint_map[2]) > 0.5
    if spread <= 0 or not mask.any():
        return ab
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    patches = [labels == k for k in range(1, count)]
    want = np.asarray(hint_map[:2], dtype=np.float64)
    residual = np.array([(want[:, p] - ab[:, p]).mean(axis=1) for p in patches])  # (K, 2)
    colours = [AB_GUIDE * cv2.GaussianBlur(c, (0, 0), GUIDE_BLUR) for c in ab]  # regions of colour, not its grain
    guide = np.stack([np.asarray(L, np.float32), *colours]).astype(np.float64)
    side = max(L.shape)
    reach = edge_aware_filter(np.stack(patches).astype(np.float64), guide, spread * side, edge)
    for k, p in enumerate(patches):
        reach[k] /= max(float(reach[k][p].max()), 1e-12)
    np.clip(reach, 0.0, 1.0, out=reach)
    at_hints = np.array([[reach[k][p].mean() for k in range(len(patches))] for p in patches])  # (J, K)
    coef = np.linalg.solve(at_hints + RIDGE * np.eye(len(patches)), residual)  # (K, 2)
    correction = np.einsum("khw,kc->chw", reach, coef)
    return np.clip(ab + correction, -1.0, 1.0).astype(np.float32)
