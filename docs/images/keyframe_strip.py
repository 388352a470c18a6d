#!/usr/bin/env python3
"""Makes docs/images/keyframe_strip.jpg: a bundled sample filmed by a slow camera pan, coloured automatically and
from its true first frame given as a keyframe, at three frames of the shot.

    python docs/images/keyframe_strip.py --ckpt runs/quality_cpu/best.pt

Columns: the black-and-white film (grain and flicker added), automatic steady colours, the first frame's true
colours carried through the shot as a keyframe, the true colours. Rows: frames 0, 30 and 60.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from unet_resnet.data.imageio import read_rgb8  # noqa: E402
from unet_resnet.evaluation.clips import camera_clip, film_of  # noqa: E402
from unet_resnet.film.carry import KeyframeCarrier  # noqa: E402
from unet_resnet.film.colorize import colorize_frames  # noqa: E402
from unet_resnet.film.keyframes import keyframe_ab  # noqa: E402
from unet_resnet.film.temporal import TemporalSmoother  # noqa: E402
from unet_resnet.inference.colorizer import Colorizer  # noqa: E402

SAMPLE = ROOT / "data" / "samples" / "kodak24_kodim23.png"
ROWS = (0, 30, 60)
COLUMNS = ("film", "automatic", "keyframe 0 carried", "true colours")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "keyframe_strip.jpg")
    args = ap.parse_args()
    model = Colorizer.load(args.ckpt, "cpu")
    rgb = read_rgb8(SAMPLE)
    h, w = rgb.shape[:2]
    side = min(w, h * 4 // 3)
    crop = rgb[:, (w - side) // 2 : (w - side) // 2 + side][: side * 3 // 4]
    photo = cv2.resize(crop, (640, 480), interpolation=cv2.INTER_AREA)
    truth = camera_clip(photo, max(ROWS) + 1, (320, 240), "pan", speed=1.0).frames
    film = film_of(truth, np.random.default_rng(0), grain=4.0, flicker=0.03)

    def colour(carrier: KeyframeCarrier | None) -> list[np.ndarray]:
        bgr = [cv2.cvtColor(f, cv2.COLOR_RGB2BGR) for f in film]
        return [
            cv2.cvtColor(o, cv2.COLOR_BGR2RGB) for o in colorize_frames(model, bgr, 0, TemporalSmoother(), 8, carrier)
        ]

    automatic = colour(None)
    keyed = colour(KeyframeCarrier({0: keyframe_ab(truth[0], model.size)}))
    columns = (film, automatic, keyed, truth)
    gap = 6
    label = 22
    strip = np.full((label + len(ROWS) * (240 + gap), len(columns) * (320 + gap) - gap, 3), 255, np.uint8)
    for j, name in enumerate(COLUMNS):
        cv2.putText(strip, name, (j * (320 + gap) + 4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    for i, t in enumerate(ROWS):
        y = label + i * (240 + gap)
        for j, frames in enumerate(columns):
            strip[y : y + 240, j * (320 + gap) : j * (320 + gap) + 320] = frames[t]
        cv2.putText(strip, f"frame {t}", (4, y + 232), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.out), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 88])
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
