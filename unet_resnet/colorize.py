"""Colorizing photos with a trained generator: ab predicted at the model's size, L kept at full resolution.

The model always runs at ``size x size``; only the photo's own L and the bilinearly upsampled ab live at full
resolution, so the output keeps the input's size and sharpness, and colours do not depend on the input's size.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn as nn

from .checkpoint import CheckpointError, load_generator
from .color import AB_SCALE, L_SCALE, lab_to_rgb, rgb_to_lab
from .distributed import pick_device

PRECISIONS = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def newest_checkpoint(root: str | Path = "runs", name: str = "best.pt") -> Path:
    """The most recently written ``name`` under ``root`` (recursive)."""
    found = sorted(Path(root).rglob(name), key=lambda p: p.stat().st_mtime) if Path(root).is_dir() else []
    if not found:
        raise CheckpointError(f"no {name} found under {root}/; train a model first (make demo) or pass --ckpt PATH")
    return found[-1]


class Colorizer:
    """A generator ready for inference on a device, in a precision, at a render size."""

    def __init__(
        self,
        G: nn.Module,
        spec: dict[str, Any],
        device: str | torch.device = "auto",
        precision: str = "fp32",
        size: int | None = None,
    ) -> None:
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
        self.G = G.to(self.device).eval()

    @classmethod
    def load(
        cls, path: str | Path, device: str = "auto", precision: str = "fp32", size: int | None = None
    ) -> Colorizer:
        G, spec = load_generator(path)
        return cls(G, spec, device, precision, size)

    @property
    def out_channels(self) -> int:
        return int(self.spec.get("out_channels", 2))

    def model_input(self, rgb: np.ndarray) -> np.ndarray:
        """float RGB ``(H, W, 3)`` in ``[0, 1]`` -> L/100 ``(size, size)`` as the training pipeline makes it."""
        h, w = rgb.shape[:2]
        interp = cv2.INTER_AREA if (h > self.size or w > self.size) else cv2.INTER_CUBIC
        small = cv2.resize(rgb, (self.size, self.size), interpolation=interp)
        return np.clip(rgb_to_lab(small)[..., 0] / L_SCALE, 0.0, 1.0)

    @torch.no_grad()
    def predict(self, L_small: np.ndarray) -> np.ndarray:
        """``(B, size, size)`` L/100 -> the generator's output ``(B, C, size, size)`` in ``[-1, 1]``, float32."""
        x = torch.from_numpy(np.ascontiguousarray(L_small, dtype=np.float32))[:, None].to(self.device)
        with torch.autocast(self.device.type, dtype=self.dtype, enabled=self.dtype != torch.float32):
            out = self.G(x)
        return out.float().cpu().numpy()

    @staticmethod
    def merge(rgb: np.ndarray, ab_small: np.ndarray) -> np.ndarray:
        """Full-resolution colour: the photo's own L with ``ab_small (2, s, s)`` resized to its size (bilinear)."""
        h, w = rgb.shape[:2]
        lab = rgb_to_lab(rgb)
        ab = cv2.resize(np.ascontiguousarray(ab_small.transpose(1, 2, 0)), (w, h), interpolation=cv2.INTER_LINEAR)
        lab[..., 1:] = np.clip(ab, -1.0, 1.0) * AB_SCALE
        return lab_to_rgb(lab)

    def colorize(self, photos: Sequence[np.ndarray]) -> list[np.ndarray]:
        """float RGB photos (any sizes; their colour is ignored) -> colorized float RGB of the same sizes."""
        if not photos:
            return []
        out = self.predict(np.stack([self.model_input(p) for p in photos]))
        return [self.merge(p, o[-2:]) for p, o in zip(photos, out, strict=False)]
