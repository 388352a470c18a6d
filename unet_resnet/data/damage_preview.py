"""``unet-resnet damage``'s preview: photos of a folder beside damaged variants, as training would see them.

Kept apart from ``damage.py`` because it needs the dataset's resize (``dataset.py``), which itself applies the damage:
``damage.py`` imports neither, so there is no import circle.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from unet_resnet.config import DamageConfig
from unet_resnet.data.color import rgb_to_lab
from unet_resnet.data.damage import damage
from unet_resnet.data.dataset import fit_to_square
from unet_resnet.data.imageio import list_images, read_rgb8, write_rgb8


def preview(src: Path, dst: Path, cfg: DamageConfig, seed: int = 0, size: int = 256, count: int = 3) -> int:
    """Write ``count`` damaged variants of each photo of ``src`` beside its clean L, as one PNG row per photo under
    ``dst`` at the photo's relative path; returns the number of files written."""
    if not src.is_dir():
        raise ValueError(f"{src} is not a folder; give a folder of photos")
    written = 0
    for i, path in enumerate(list_images(src)):
        rgb = fit_to_square(read_rgb8(path), size, "squash", None).astype(np.float32) / 255.0
        L = rgb_to_lab(rgb)[..., 0] / 100.0
        tiles = [L] + [damage(L, np.random.default_rng([seed, i, k]), cfg) for k in range(count)]
        row = (np.concatenate(tiles, axis=1) * 255 + 0.5).astype(np.uint8)
        write_rgb8(dst / path.relative_to(src).with_suffix(".png"), cv2.cvtColor(row, cv2.COLOR_GRAY2RGB))
        written += 1
    return written
