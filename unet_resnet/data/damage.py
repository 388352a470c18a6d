"""Synthetic damage of old photos, applied on the fly to the training L only (restoration mode).

Each effect takes ``L`` as float32 ``(H, W)`` in ``[0, 1]`` and a :class:`numpy.random.Generator`, returns a damaged
copy of the same shape and range, and draws all its randomness from that generator: the same seed gives the same
damage. :func:`damage` applies each effect with its probability from a :class:`DamageConfig`.

Preview what training will see (``damage_preview.py``)::

    unet-resnet damage --in data/samples --out out/damage_preview
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from unet_resnet.config import DamageConfig

Effect = Callable[[np.ndarray, np.random.Generator, float], np.ndarray]


def _curve_points(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A random quadratic Bezier curve across part of the image, as int32 points for cv2.polylines."""
    p0, p1, p2 = (rng.uniform([0, 0], [w, h]) for _ in range(3))
    t = np.linspace(0.0, 1.0, 64)[:, None]
    pts = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2
    return np.round(pts * 16).astype(np.int32)  # 4 fractional bits for anti-aliased drawing


def scratches(L: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Thin bright (emulsion lost) or dark (dirt) curves."""
    h, w = L.shape
    out = L.copy()
    for _ in range(int(rng.integers(1, 2 + round(6 * strength)))):
        layer = np.zeros_like(L)
        thickness = int(rng.integers(1, 3))
        cv2.polylines(layer, [_curve_points(rng, h, w)], False, 1.0, thickness, cv2.LINE_AA, shift=4)
        value = 1.0 if rng.random() < 0.7 else 0.05
        alpha = layer * rng.uniform(0.5, 1.0)
        out = out * (1 - alpha) + value * alpha
    return out


def stripes(L: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Vertical stripes and streaks (film transport and scanner lines), full or partial height."""
    h, w = L.shape
    out = L.copy()
    for _ in range(int(rng.integers(1, 2 + round(4 * strength)))):
        x = int(rng.integers(0, w))
        width = int(rng.integers(1, 3))
        y0 = int(rng.integers(0, h // 2 + 1)) if rng.random() < 0.5 else 0
        y1 = int(rng.integers(y0 + 1, h + 1)) if y0 else h
        delta = rng.uniform(0.1, 0.3 + 0.4 * strength) * (1 if rng.random() < 0.5 else -1)
        out[y0:y1, x : x + width] += delta
    return np.clip(out, 0.0, 1.0)


def dust(L: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Dust and spots: small bright or dark blobs."""
    h, w = L.shape
    out = L.copy()
    n = int(rng.integers(5, 10 + round(60 * strength * h * w / 65536)))
    for _ in range(n):
        center = (int(rng.integers(0, w)), int(rng.integers(0, h)))
        radius = int(rng.integers(1, 2 + round(3 * strength)))
        cv2.circle(out, center, radius, float(rng.choice([0.02, 0.98])), -1, cv2.LINE_AA)
    return out


def grain(L: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Film grain: Gaussian noise, slightly blurred so it clumps like silver grains."""
    sigma = rng.uniform(0.01, 0.02 + 0.08 * strength)
    noise = rng.normal(0.0, sigma, L.shape).astype(np.float32)
    noise = cv2.GaussianBlur(noise, (3, 3), 0.6) * 1.6
    return np.clip(L + noise, 0.0, 1.0)


def blur(L: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Out of focus or a soft print."""
    sigma = rng.uniform(0.5, 0.8 + 2.0 * strength)
    return cv2.GaussianBlur(L, (0, 0), sigma)


def jpeg(L: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """JPEG blocking from a low-quality scan."""
    quality = int(rng.integers(max(5, 40 - round(35 * strength)), 60))
    ok, buf = cv2.imencode(".jpg", (L * 255 + 0.5).astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, quality])
    decoded = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE) if ok else None
    return L.copy() if decoded is None else decoded.astype(np.float32) / 255.0


def fade(L: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Faded contrast towards a paper tone."""
    contrast = rng.uniform(1.0 - 0.6 * strength, 0.95)
    paper = rng.uniform(0.45, 0.75)
    return np.clip(paper + (L - paper) * contrast, 0.0, 1.0)


def exposure(L: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """Uneven exposure: a smooth gain field (vignetting or a light leak)."""
    h, w = L.shape
    field = rng.uniform(-1, 1, (3, 3)).astype(np.float32)
    gain = 1.0 + cv2.resize(field, (w, h), interpolation=cv2.INTER_CUBIC) * (0.1 + 0.3 * strength)
    return np.clip(L * gain, 0.0, 1.0)


def tears(L: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """A small torn or missing region at an edge, showing bare paper."""
    h, w = L.shape
    out = L.copy()
    size = rng.uniform(0.05, 0.08 + 0.12 * strength) * min(h, w)
    edge = int(rng.integers(0, 4))
    along = rng.uniform(0, w if edge in (0, 2) else h)
    anchor = {0: (along, 0.0), 1: (w - 1.0, along), 2: (along, h - 1.0), 3: (0.0, along)}[edge]
    angles = np.sort(rng.uniform(0, 2 * np.pi, 9))
    radii = size * rng.uniform(0.5, 1.0, 9)
    pts = np.stack([anchor[0] + radii * np.cos(angles), anchor[1] + radii * np.sin(angles)], axis=1)
    cv2.fillPoly(out, [np.round(pts).astype(np.int32)], float(rng.uniform(0.85, 1.0)), cv2.LINE_AA)
    return out


EFFECTS: dict[str, Effect] = {
    "fade": fade,
    "exposure": exposure,
    "blur": blur,
    "scratches": scratches,
    "stripes": stripes,
    "dust": dust,
    "tears": tears,
    "grain": grain,
    "jpeg": jpeg,
}
"""In the order they are applied: print ageing first, then physical damage, then the scan's noise and coding."""


def damage(L: np.ndarray, rng: np.random.Generator, cfg: DamageConfig | None = None) -> np.ndarray:
    """Apply each effect with its configured probability and strength; float32 ``(H, W)`` in ``[0, 1]`` out."""
    cfg = cfg or DamageConfig()
    out = np.ascontiguousarray(L, dtype=np.float32)
    for name, effect in EFFECTS.items():
        if rng.random() < getattr(cfg, f"p_{name}"):
            out = effect(out, rng, float(getattr(cfg, f"s_{name}")))
    return np.clip(out, 0.0, 1.0).astype(np.float32)

