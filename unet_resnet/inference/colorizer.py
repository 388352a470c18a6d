"""Colorizing photos with a trained generator: ab predicted at the model's size, L kept at full resolution.

The model always runs at ``size x size``; only the photo's own L and the bilinearly upsampled ab live at full
resolution, so the output keeps the input's size and sharpness, and colours do not depend on the input's size.

The full-resolution merge (:func:`render`) works in horizontal strips of about a megapixel straight from the
uint8/uint16 decode: per strip, scale to float, convert to Lab, put in the upsampled ab, convert back and round to
the output's depth. Peak memory is the photo, its output (which may be the photo's own buffer) and a few strips.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn as nn

from unet_resnet.data.color import AB_SCALE, L_SCALE
from unet_resnet.data.imageio import Photo, sample_scale
from unet_resnet.hints.points import NO_HINTS, HintError, HintPoint, hint_batch
from unet_resnet.hints.spread import DEFAULT_SPREAD, spread_hints
from unet_resnet.inference.restore import restore_lightness
from unet_resnet.inference.sharing import Sharing
from unet_resnet.models.checkpoint import CheckpointError, load_model
from unet_resnet.models.provenance import Provenance
from unet_resnet.runtime.distributed import pick_device

PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
STRIP_PIXELS = 1 << 20
"""Pixels per strip of the full-resolution merge (float temporaries of ~12 MB each)."""

_TO_LAB = {"bgr": cv2.COLOR_BGR2Lab, "rgb": cv2.COLOR_RGB2Lab}
_FROM_LAB = {"bgr": cv2.COLOR_Lab2BGR, "rgb": cv2.COLOR_Lab2RGB}


def _as_float3(pixels: np.ndarray, order: str) -> np.ndarray:
    """Gray / 3- / 4-channel pixels of any depth -> contiguous float32 3-channel in ``[0, 1]`` (``order`` kept)."""
    colour = pixels if pixels.ndim == 2 else pixels[..., :3]
    x = np.multiply(colour, 1.0 / sample_scale(pixels.dtype), dtype=np.float32)
    if x.ndim == 2:
        x = cv2.cvtColor(x, cv2.COLOR_GRAY2BGR)
    return x


def lightness(pixels: np.ndarray, size: int, order: str = "bgr") -> np.ndarray:
    """The model's input for a photo: L/100 ``(size, size)`` float32 in ``[0, 1]``.

    ``pixels``: ``(H, W)`` gray, ``(H, W, 3)`` or ``(H, W, 4)`` in ``order`` (``"bgr"`` or ``"rgb"``), uint8, uint16
    or float in ``[0, 1]``. As in training: resized at its own depth (area when shrinking, cubic when enlarging),
    then scaled to ``[0, 1]`` and converted to Lab.
    """
    h, w = pixels.shape[:2]
    colour = pixels if pixels.ndim == 2 else pixels[..., :3]
    interp = cv2.INTER_AREA if (h > size or w > size) else cv2.INTER_CUBIC
    small = cv2.resize(np.ascontiguousarray(colour), (size, size), interpolation=interp)
    x = _as_float3(small, order)
    if pixels.dtype not in (np.uint8, np.uint16):
        np.clip(x, 0.0, 1.0, out=x)  # cubic overshoot; integer resizes saturate by themselves
    return np.clip(cv2.cvtColor(x, _TO_LAB[order])[..., 0] / L_SCALE, 0.0, 1.0)


def _row_weights(height: int, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source rows and weights of a bilinear resize from ``size`` to ``height`` rows (OpenCV's pixel centres)."""
    sy = (np.arange(height, dtype=np.float64) + 0.5) * (size / height) - 0.5
    i0 = np.floor(sy).astype(np.int64)
    t = sy - i0
    t[i0 < 0] = 0.0
    i0 = np.clip(i0, 0, size - 1)
    t[i0 >= size - 1] = 0.0
    i1 = np.minimum(i0 + 1, size - 1)
    return i0, i1, t.astype(np.float32)


def render(
    pixels: np.ndarray,
    ab_small: np.ndarray,
    out: np.ndarray | None = None,
    order: str = "bgr",
    L_full: np.ndarray | None = None,
) -> np.ndarray:
    """Full-resolution colour: the photo's own L with ``ab_small`` resized (bilinear) to the photo's size.

    ``pixels``: ``(H, W)`` gray, ``(H, W, 3)`` or ``(H, W, 4)`` (alpha last) in ``order``, uint8, uint16 or float32
    in ``[0, 1]``. ``ab_small``: ``(2, s, s)`` in ``[-1, 1]``. Returns the same dtype, ``(H, W, 3)`` or ``(H, W, 4)``
    with the alpha copied. ``out`` may be ``pixels`` itself (3 or 4 channels) to colorize in place. ``L_full``:
    an L/100 ``(H, W)`` to use instead of the photo's own (restoration).
    """
    h, w = pixels.shape[:2]
    channels = 4 if pixels.ndim == 3 and pixels.shape[2] == 4 else 3
    if out is None:
        out = np.empty((h, w, channels), pixels.dtype)
    if out.shape != (h, w, channels) or out.dtype != pixels.dtype:
        raise ValueError(f"out has shape {out.shape} {out.dtype}; expected {(h, w, channels)} {pixels.dtype}")
    if L_full is not None and L_full.shape != (h, w):
        raise ValueError(f"L_full has shape {L_full.shape}; expected {(h, w)}")
    scale = sample_scale(pixels.dtype)
    ab_hwc = np.ascontiguousarray(np.clip(ab_small, -1.0, 1.0).transpose(1, 2, 0), dtype=np.float32) * AB_SCALE
    i0, i1, t = _row_weights(h, ab_hwc.shape[0])
    rows = max(1, STRIP_PIXELS // w)
    for y0 in range(0, h, rows):
        y1 = min(h, y0 + rows)
        if L_full is None:
            lab = cv2.cvtColor(_as_float3(pixels[y0:y1], order), _TO_LAB[order])
        else:  # L and ab both replaced: the strip's own Lab is not needed
            lab = np.empty((y1 - y0, w, 3), np.float32)
            lab[..., 0] = L_full[y0:y1] * L_SCALE
        # Bilinear in two separable steps: rows at the model's width here, columns by OpenCV at full width.
        tt = t[y0:y1, None, None]
        ab_rows = ab_hwc[i0[y0:y1]] * (1.0 - tt) + ab_hwc[i1[y0:y1]] * tt
        lab[..., 1:] = cv2.resize(ab_rows, (w, y1 - y0), interpolation=cv2.INTER_LINEAR).reshape(y1 - y0, w, 2)
        colour = cv2.cvtColor(lab, _FROM_LAB[order])
        np.clip(colour, 0.0, 1.0, out=colour)
        if pixels.dtype == np.uint8:
            out[y0:y1, :, :3] = cv2.convertScaleAbs(colour, alpha=255.0)
        elif scale != 1.0:
            out[y0:y1, :, :3] = colour * scale + 0.5
        else:
            out[y0:y1, :, :3] = colour
        if channels == 4 and out is not pixels:
            out[y0:y1, :, 3] = pixels[y0:y1, :, 3]
    return out


def full_lightness(pixels: np.ndarray, order: str = "bgr") -> np.ndarray:
    """The photo's own L/100 at full resolution, float32 ``(H, W)``, converted strip by strip."""
    h, w = pixels.shape[:2]
    L = np.empty((h, w), np.float32)
    rows = max(1, STRIP_PIXELS // w)
    for y0 in range(0, h, rows):
        y1 = min(h, y0 + rows)
        L[y0:y1] = cv2.cvtColor(_as_float3(pixels[y0:y1], order), _TO_LAB[order])[..., 0] / L_SCALE
    return np.clip(L, 0.0, 1.0, out=L)


def restored_lightness(pixels: np.ndarray, L_pred: np.ndarray, order: str = "bgr") -> np.ndarray:
    """Full-resolution repaired L/100 of a photo from a restoration model's L channel (``[-1, 1]``, render size)."""
    return restore_lightness(full_lightness(pixels, order), (np.asarray(L_pred, np.float32) + 1.0) / 2.0)


class Colorizer(Sharing):
    """A generator ready for inference on a device, in a precision, at a render size (and to share: Sharing)."""

    def __init__(
        self,
        G: nn.Module,
        spec: dict[str, Any],
        device: str | torch.device = "auto",
        precision: str = "fp32",
        size: int | None = None,
        restore: bool = False,
        hint_spread: float | None = None,
        provenance: Provenance | None = None,
    ) -> None:
        self.provenance = provenance or Provenance("(in memory)")  # where it came from (:attr:`title` names it)
        hint_spread = DEFAULT_SPREAD if hint_spread is None else hint_spread
        if not 0.0 <= hint_spread <= 4.0:
            raise ValueError(f"hint spread must be between 0 (off) and 4 image sides, got {hint_spread}")
        self.hint_spread = float(hint_spread)
        self.device = pick_device(device) if isinstance(device, str) else device
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        if precision == "fp16" and self.device.type != "cuda":
            raise ValueError("fp16 inference needs a CUDA device; use fp32 or bf16 on CPU")
        self.dtype = PRECISIONS[precision]
        self.spec = spec
        self.size = int(size or spec.get("size", 256))
        if self.size < 32:
            raise ValueError(f"render size must be at least 32, got {self.size}")
        if restore and int(spec.get("out_channels", 2)) != 3:
            raise ValueError(
                "restoration needs a model trained in restoration mode (restore.enabled: true, e.g. "
                "configs/coco_restore.yaml; it predicts L as well as ab); this one predicts only ab: "
                "colorize without --restore, or train a restoration model"
            )
        self.restore = restore
        self.G = G.to(self.device).eval()

    @classmethod
    def load(
        cls,
        path: str | Path,
        device: str = "auto",
        precision: str = "fp32",
        size: int | None = None,
        restore: bool = False,
        hint_spread: float | None = None,
    ) -> Colorizer:
        """A training checkpoint, exported ``.pt`` or ``.safetensors`` generator, model folder or Hub id
        (``user/name[@revision]``; an existing path wins), ready on ``device``.

        ``hint_spread``: how far colour hints are spread over the output, in image sides (None: the default
        :data:`~unet_resnet.hints.spread.DEFAULT_SPREAD`; 0: only a hint model's own response to them)."""
        G, spec, provenance = load_model(path)
        try:
            return cls(G, spec, device, precision, size, restore, hint_spread, provenance)
        except ValueError as exc:
            raise CheckpointError(f"{path}: {exc}") from None

    @property
    def out_channels(self) -> int:
        return int(self.spec.get("out_channels", 2))

    @property
    def takes_hints(self) -> bool:
        """Whether the model was trained with colour hints (``model.hints``), as its spec records."""
        return bool(self.spec.get("hints", False))

    @property
    def follows_hints(self) -> bool:
        """Whether colour hints can be given: the model takes them, or they are spread over the output
        (``hint_spread > 0``, :mod:`~unet_resnet.hints.spread`), or both (the default for a hint model)."""
        return self.takes_hints or self.hint_spread > 0

    @property
    def restores(self) -> bool:
        """Whether the model predicts L as well as ab (a restoration model)."""
        return self.out_channels == 3

    def model_input(self, rgb: np.ndarray) -> np.ndarray:
        """float RGB ``(H, W, 3)`` in ``[0, 1]`` -> L/100 ``(size, size)`` as the training pipeline makes it."""
        return lightness(rgb, self.size, "rgb")

    def prepare(self, pixels: np.ndarray) -> np.ndarray:
        """Decoded pixels (``Photo`` layout: gray, BGR or BGRA) -> L/100 ``(size, size)``."""
        return lightness(pixels, self.size, "bgr")

    @torch.inference_mode()
    def predict(self, L_small: np.ndarray, hints: np.ndarray | None = None) -> np.ndarray:
        """``(B, size, size)`` L/100 and, for a hint model, hint maps ``(B, 3, size, size)``
        (:func:`~unet_resnet.hints.points.hint_batch`; None: automatic) -> the output ``(B, C, size, size)``.

        A hint model sees the hint maps; then, with ``hint_spread > 0``, each photo's ab is corrected to follow its
        hints over their regions (:func:`~unet_resnet.hints.spread.spread_hints`)."""
        x = torch.from_numpy(np.ascontiguousarray(L_small, dtype=np.float32))[:, None]
        if hints is not None and not self.follows_hints:
            raise HintError(NO_HINTS)
        if hints is not None and self.takes_hints:
            x = torch.cat([x, torch.from_numpy(np.ascontiguousarray(hints, dtype=np.float32))], dim=1)
        x = x.to(self.device)
        with torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype != torch.float32):
            out = self.G(x)
        result: np.ndarray = out.float().cpu().numpy()
        if hints is not None and self.hint_spread > 0:
            for i in range(len(result)):
                result[i, -2:] = spread_hints(result[i, -2:], L_small[i], hints[i], self.hint_spread)
        return result

    @staticmethod
    def merge(rgb: np.ndarray, ab_small: np.ndarray) -> np.ndarray:
        """Full-resolution colour: the photo's own L with ``ab_small (2, s, s)`` resized to its size (bilinear).

        ``rgb``: float RGB ``(H, W, 3)`` in ``[0, 1]``; returns float32 RGB of the same size.
        """
        return render(np.asarray(rgb, dtype=np.float32), ab_small, order="rgb")

    def finish(
        self, pixels: np.ndarray, predicted: np.ndarray, out: np.ndarray | None = None, order: str = "bgr"
    ) -> np.ndarray:
        """Pixels (as :func:`render` takes them) + this model's output for them -> the full-resolution result.

        With ``restore``, L is the repaired full-resolution L (:func:`restore_lightness`);
        otherwise the photo's own. A restoration model's L channel is ignored without ``restore``.
        """
        L_full = restored_lightness(pixels, predicted[0], order) if self.restore else None
        return render(pixels, predicted[-2:], out=out, order=order, L_full=L_full)

    def colorize(
        self, photos: Sequence[np.ndarray], hints: Sequence[Sequence[HintPoint] | None] | None = None
    ) -> list[np.ndarray]:
        """float RGB photos (any sizes; their colour is ignored) -> colorized float RGB of the same sizes.

        ``hints``: one list of :class:`~unet_resnet.hints.points.HintPoint` (or None) per photo, in its pixels.
        """
        if not photos:
            return []
        maps = hint_batch(hints, [(p.shape[1], p.shape[0]) for p in photos], self.size, self.follows_hints)
        pred = self.predict(np.stack([self.model_input(p) for p in photos]), maps)
        return [self.finish(np.asarray(p, dtype=np.float32), y, order="rgb") for p, y in zip(photos, pred, strict=True)]

    def colorize_photos(
        self, photos: Sequence[Photo], hints: Sequence[Sequence[HintPoint] | None] | None = None
    ) -> list[np.ndarray]:
        """Decoded photos (and hints, as for :meth:`colorize`) -> colorized pixels as ``infer.py`` writes them."""
        if not photos:
            return []
        maps = hint_batch(hints, [p.size for p in photos], self.size, self.follows_hints)
        pred = self.predict(np.stack([self.prepare(p.pixels) for p in photos]), maps)
        return [self.finish(p.pixels, y) for p, y in zip(photos, pred, strict=True)]
