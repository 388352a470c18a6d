"""Spreading colour hints over the regions they fall in: the output honours every hint, whatever the network learnt.

A network follows hints only roughly (a plain model not at all), so this step makes the output meet each hint
exactly and carries its correction over the region the hint falls in, stopping at edges, as a person placing a point
expects. It is the optimisation of Levin, Lischinski and Weiss, "Colorization using Optimization" (SIGGRAPH 2004),
applied to a **correction** of the model's colours instead of to the colours themselves:

1. at each hint pixel the correction is fixed: the requested ab minus the model's ab there (so that pixel gets
   exactly the colour asked for);
2. everywhere else the correction ``R`` minimises
   ``sum over neighbours p~q of w_pq (R_p - R_q)^2 + mu * sum_p R_p^2``: neighbours of similar lightness (and
   similar model colour) are bound to take similar corrections (``w_pq = exp(-|g_p - g_q|^2 / (2 EDGE^2))`` for the
   guide ``g``: L/100 and, at ``AB_GUIDE`` weight, the model's smoothed ab / 128), while an edge (a step of a few
   ``EDGE``) nearly cuts the bond; the small screening term ``mu = 1 / (spread * side)^2`` lets the correction fade,
   over about ``spread`` image sides, where nothing holds it up, so a region cut off by edges keeps the model's
   colours;
3. ``ab + R``, clipped to the valid range. A correction is added, so the model's texture inside a region is kept.

The minimiser solves a sparse symmetric positive-definite system over the 4-connected pixel grid of the model's
output, with Jacobi-preconditioned conjugate gradients, coarse to fine: the grid is halved down to ``COARSEST``
pixels a side (solved to convergence there), and each level's solution, upsampled edge-aware, starts the next
finer one, so the iterations at full size refine what the coarse levels carried across the photo. It runs at the
model's resolution on the ``(2, size, size)`` output, before the ab is upsampled and joined with the full-resolution
L.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

DEFAULT_SPREAD = 2.0
"""How far a correction carries along a flat region before fading, in sides of the model's image."""
EDGE = 0.05
"""Guide difference (L/100, or weighted ab/128) between neighbours at which their bond has fallen to ``exp(-1/2)``.

``DEFAULT_SPREAD``, ``EDGE`` and ``AB_GUIDE`` were chosen with the hint sweep on held-out photos (docs/hints.md)."""
AB_GUIDE = 0.5
"""Weight of the model's own colours beside L in the guide (they separate regions of equal lightness)."""
COLOUR_BLUR = 1.0
"""Gaussian sigma (pixels at the model's size) that smooths the model's colours before they guide."""
GUIDE_BLUR = 2.0
"""The same for the guide of :func:`edge_aware_filter` where film keyframes use it (``unet_resnet/film/carry.py``)."""
FILTER_ITERATIONS = 3
"""Passes of :func:`edge_aware_filter`."""
COARSEST = 16
"""The coarse-to-fine pyramid halves the grid until its longer side is at most this."""
ITERATIONS = 300
"""Most conjugate-gradient iterations at one level (twice its longer side when that is fewer), started from the
upsampled coarser solution."""
TOLERANCE = 1e-5
"""Stop a level early once the preconditioned residual's norm has fallen below this share of its starting one."""


def edge_weights(guide: np.ndarray, edge: float = EDGE) -> tuple[np.ndarray, np.ndarray]:
    """Bond strengths in ``(0, 1]`` between 4-neighbours of ``guide (C, H, W)``: ``(H, W - 1)`` horizontal and
    ``(H - 1, W)`` vertical, ``exp(-|g_p - g_q|^2 / (2 edge^2))``."""
    g = np.asarray(guide, dtype=np.float32)
    scale = -0.5 / (edge * edge)
    wx = np.exp(scale * np.square(np.diff(g, axis=2)).sum(axis=0))
    wy = np.exp(scale * np.square(np.diff(g, axis=1)).sum(axis=0))
    return wx, wy


def _laplacian(x: np.ndarray, wx: np.ndarray, wy: np.ndarray, diag: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``(D + mu) x - W x`` for ``x (K, H, W)`` written into ``out``: the system's matrix applied to each image."""
    np.multiply(diag, x, out=out)
    out[:, :, 1:] -= wx * x[:, :, :-1]
    out[:, :, :-1] -= wx * x[:, :, 1:]
    out[:, 1:, :] -= wy * x[:, :-1, :]
    out[:, :-1, :] -= wy * x[:, 1:, :]
    return out


def _solve(wx: np.ndarray, wy: np.ndarray, mu: float, known: np.ndarray, x: np.ndarray, iterations: int) -> np.ndarray:
    """Minimise the energy for ``x (K, H, W)`` with its values on ``known (H, W)`` held fixed, starting from ``x``'s
    other values: preconditioned conjugate gradients on the free pixels (each of the ``K`` images on its own)."""
    free = ~known
    diag = np.full(known.shape, mu, np.float32)
    diag[:, 1:] += wx
    diag[:, :-1] += wx
    diag[1:, :] += wy
    diag[:-1, :] += wy
    inverse = np.where(free, 1.0 / diag, 0.0).astype(np.float32)
    mask = free.astype(np.float32)
    q = np.empty_like(x)
    r = -_laplacian(x, wx, wy, diag, q) * mask
    z = r * inverse
    p = z.copy()
    rz = np.einsum("khw,khw->k", r, z)
    stop = TOLERANCE**2 * np.maximum(rz, 1e-30)
    for _ in range(iterations):
        if np.all(rz <= stop):
            break
        _laplacian(p, wx, wy, diag, q)
        q *= mask
        alpha = (rz / np.maximum(np.einsum("khw,khw->k", p, q), 1e-30))[:, None, None].astype(np.float32)
        x += alpha * p
        r -= alpha * q
        np.multiply(r, inverse, out=z)
        rz_next = np.einsum("khw,khw->k", r, z)
        p *= (rz_next / np.maximum(rz, 1e-30))[:, None, None].astype(np.float32)
        p += z
        rz = rz_next
    return x


def _coarser(wx: np.ndarray, wy: np.ndarray, known: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, ...]:
    """The problem on a grid of half the side: a coarse pixel covers a 2x2 block (the last row or column alone
    when odd); its bond to a neighbouring block is the mean of the fine bonds crossing between them (so the energy
    of a smooth correction is kept); it is fixed when any of its fine pixels is, at their mean value."""
    h, w = known.shape
    hc, wc = (h + 1) // 2, (w + 1) // 2
    # fine bonds crossing from block column j to j + 1 sit between fine columns 2j + 1 and 2j + 2
    cross_x = wx[:, 1::2][:, : wc - 1]
    cross_y = wy[1::2, :][: hc - 1, :]
    wxc = _block_mean(cross_x, axis=0)
    wyc = _block_mean(cross_y, axis=1)
    weight = _block_sum(_block_sum(known.astype(np.float32), 0), 1)
    total = _block_sum(_block_sum(values * known, 1), 2)
    known_c = weight > 0
    values_c = np.where(known_c, total / np.maximum(weight, 1.0), 0.0)
    return wxc, wyc, known_c, values_c


def _block_sum(a: np.ndarray, axis: int) -> np.ndarray:
    """Sums of pairs along ``axis`` (the last element alone when the length is odd)."""
    a = np.moveaxis(a, axis, -1)
    n = a.shape[-1]
    out = a[..., 0::2].copy()
    out[..., : n // 2] += a[..., 1::2]
    return np.moveaxis(out, -1, axis)


def _block_mean(a: np.ndarray, axis: int) -> np.ndarray:
    """Means of pairs along ``axis`` (the last element alone when the length is odd)."""
    a = np.moveaxis(a, axis, -1)
    counts = np.ones(a.shape[-1], np.float32)
    pairs = _block_sum(a, a.ndim - 1) / _block_sum(counts, 0)
    return np.moveaxis(pairs, -1, axis)


def _upsample(coarse: np.ndarray, guide_c: np.ndarray, guide: np.ndarray, edge: float) -> np.ndarray:
    """A coarse solution ``(K, hc, wc)`` brought to the fine grid of ``guide (C, H, W)`` by joint bilateral
    upsampling: each fine pixel averages the 3x3 coarse pixels around its block, weighted by distance and by how
    close their guide (``guide_c``) is to its own, so a value does not cross an edge on the way up (a leak the
    fine level would then have to drain out of a closed region, slowly)."""
    _, h, w = guide.shape
    _, hc, wc = guide_c.shape
    ys, xs = np.arange(h) // 2, np.arange(w) // 2
    pos_y, pos_x = (np.arange(h) + 0.5) / 2 - 0.5, (np.arange(w) + 0.5) / 2 - 0.5
    total = np.zeros((coarse.shape[0], h, w), np.float32)
    weight = np.zeros((h, w), np.float32)
    scale = -0.5 / (edge * edge)
    for dy in (-1, 0, 1):
        by = np.clip(ys + dy, 0, hc - 1)
        near_y = np.exp(-2.0 * (pos_y - by) ** 2)[:, None]
        for dx in (-1, 0, 1):
            bx = np.clip(xs + dx, 0, wc - 1)
            near = near_y * np.exp(-2.0 * (pos_x - bx) ** 2)[None, :]
            step = guide - guide_c[:, by[:, None], bx[None, :]]
            wgt = (near * np.exp(scale * np.square(step).sum(axis=0))).astype(np.float32) + 1e-12
            total += wgt * coarse[:, by[:, None], bx[None, :]]
            weight += wgt
    return total / weight


def propagate(
    guide: np.ndarray, wx: np.ndarray, wy: np.ndarray, edge: float, mu: float, known: np.ndarray, values: np.ndarray
) -> np.ndarray:
    """The minimiser ``(K, H, W)`` of the energy with bonds ``wx``, ``wy`` (of ``guide (C, H, W)``) and screening
    ``mu`` that equals ``values (K, H, W)`` on ``known (H, W)``; solved coarse to fine (module docstring).

    A coarser level's bond is the weaker of two estimates: the bond of the guide taken at every other pixel (its
    steps stay sharp, so it sees an edge inside a 2x2 block) and the mean of the fine bonds crossing between the
    blocks (an edge between them). A coarse level must not join regions the fine one keeps apart: a correction
    that leaks into a closed region at a coarse level drains out of it at the fine one only as slowly as that
    region's bonds allow."""
    h, w = known.shape
    if max(h, w) > COARSEST and min(h, w) > 1:
        guide_c = np.ascontiguousarray(guide[:, ::2, ::2])
        cross_x, cross_y, known_c, values_c = _coarser(wx, wy, known, values)
        wx_c, wy_c = edge_weights(guide_c, edge)
        np.minimum(wx_c, cross_x, out=wx_c)
        np.minimum(wy_c, cross_y, out=wy_c)
        coarse = propagate(guide_c, wx_c, wy_c, edge, 4.0 * mu, known_c, values_c)
        start = _upsample(coarse, guide_c, guide, edge)
        iterations = min(ITERATIONS, 2 * max(h, w))
    else:
        start = np.zeros_like(values)
        iterations = ITERATIONS  # a few hundred unknowns: converged
    start = np.where(known, values, start).astype(np.float32)
    return _solve(wx, wy, mu, known, start, iterations)


def _recursive_pass(x: np.ndarray, weights: np.ndarray) -> None:
    """One causal and one anti-causal recursive pass along the last axis of ``x (K, H, W)``, in place;
    ``weights (H, W - 1)``: the feedback between each pair of neighbours."""
    width = x.shape[-1]
    for i in range(1, width):
        x[:, :, i] += weights[:, i - 1] * (x[:, :, i - 1] - x[:, :, i])
    for i in range(width - 2, -1, -1):
        x[:, :, i] += weights[:, i] * (x[:, :, i + 1] - x[:, :, i])


def edge_aware_filter(
    x: np.ndarray, guide: np.ndarray, sigma_s: float, sigma_r: float, iterations: int = FILTER_ITERATIONS
) -> np.ndarray:
    """Domain-transform recursive filtering (Gastal & Oliveira, SIGGRAPH 2011) of ``x (K, H, W)`` guided by
    ``guide (C, H, W)``: a fast edge-aware blur, which film keyframes use to fill where their carried colours are
    lost (hint spreading itself solves the optimisation above).

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
    (hint a, hint b, mask) and carries each correction over its region of ``L (H, W)`` (L/100). Every hint pixel
    gets exactly its hint's ab; ``spread <= 0`` or no hint: ``ab`` unchanged. Returns float32 ``(2, H, W)``."""
    ab = np.asarray(ab, dtype=np.float32)
    known = np.asarray(hint_map[2]) > 0.5
    if spread <= 0 or not known.any():
        return ab
    colours = [AB_GUIDE * cv2.GaussianBlur(c, (0, 0), COLOUR_BLUR) for c in ab]  # regions of colour, not its grain
    guide = np.stack([np.asarray(L, np.float32), *colours])
    mu = 1.0 / (spread * max(known.shape)) ** 2
    asked = np.asarray(hint_map[:2], dtype=np.float32) - ab
    wx, wy = edge_weights(guide, edge)
    correction = propagate(guide, wx, wy, edge, mu, known, np.where(known, asked, 0.0).astype(np.float32))
    out = np.clip(ab + correction, -1.0, 1.0).astype(np.float32)
    out[:, known] = np.asarray(hint_map[:2], dtype=np.float32)[:, known]  # exactly the asked ab, whatever rounding
    return out
