#!/usr/bin/env python3
"""Make ``docs/images/before_after.jpg``, the README's picture: four bundled sample photos (never trained on) as the
model sees them (gray), as it colours them, and their truth, cut from the quality protocol's contact sheet
``docs/images/quality_samples.jpg`` (rows of 160-pixel cells, 4-pixel gaps; columns gray | seed reference | ours |
truth: see docs/quality.md).

    python docs/images/before_after.py
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
CELL, GAP = 160, 4
PHOTOS = (3, 5, 7, 9)  # rows of the contact sheet: a portrait, a harbour, a street, sails
COLUMNS = (0, 2, 3)  # gray, ours, truth


def main() -> None:
    sheet = cv2.imread(str(HERE / "quality_samples.jpg"))
    rows = []
    for column in COLUMNS:
        cells = [sheet[r * (CELL + GAP) : r * (CELL + GAP) + CELL, column * CELL : (column + 1) * CELL] for r in PHOTOS]
        rows.append(np.concatenate([np.pad(c, ((0, 0), (0, GAP), (0, 0)), constant_values=255) for c in cells], 1))
        rows.append(np.full((GAP, rows[-1].shape[1], 3), 255, np.uint8))
    picture = np.concatenate(rows[:-1], 0)[:, :-GAP]
    cv2.imwrite(str(HERE / "before_after.jpg"), picture, [cv2.IMWRITE_JPEG_QUALITY, 90])


if __name__ == "__main__":
    main()
