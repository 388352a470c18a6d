"""The film half of ``unet-resnet infer``: its options, and the progress bars of the film loop.

The loop itself is :func:`unet_resnet.film.colorize.colorize_films`: a film that cannot be read, or is cut short,
is reported on one line and counted as failed, so that the command exits non-zero.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the library is imported once the arguments are parsed
    from unet_resnet.film.colorize import FilmPlan, FilmSummary
    from unet_resnet.film.keyframes import Keyframes
    from unet_resnet.inference.colorizer import Colorizer


def _crf(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 51:
        raise argparse.ArgumentTypeError(f"must be between 0 (lossless) and 51 (worst), got {value}")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options that concern films (videos found by their container: mp4, mov, m4v, mkv, avi, webm)."""
    p.add_argument(
        "--temporal",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="films: steady colours, carried along the motion between frames and restarted at scene cuts "
        "(default); --no-temporal colours every frame on its own. See docs/video.md",
    )
    p.add_argument(
        "--keyframes",
        metavar="DIR",
        help="films: frames a person coloured, carried through their shots: DIR/120.png (or 000120.png, jpg, tif) "
        "is frame 120 (from 0); for a folder of films, DIR/<film path relative to --in without extension>/120.png. "
        "unet-resnet keyframes writes the frames to colour. See docs/video.md",
    )
    p.add_argument(
        "--video-quality",
        type=_crf,
        default=18,
        help="films: constant quality of the H.264 (VP9 for .webm) video, 0 lossless to 51 worst (default 18)",
    )


def check_keyframes(model: Colorizer, plan: FilmPlan, args: argparse.Namespace) -> dict[Path, Keyframes] | None:
    """``--keyframes``: every planned film's keyframes, read and checked before any work
    (:func:`~unet_resnet.film.keyframes.plan_keyframes`; raises ``ValueError`` naming the file); None without."""
    if not args.keyframes:
        return None
    from unet_resnet.film.keyframes import plan_keyframes

    films = [src for src, _ in plan.jobs]
    return plan_keyframes(films, Path(args.inp), Path(args.keyframes), model.size)


def run_films(
    model: Colorizer, plan: FilmPlan, args: argparse.Namespace, keyframes: dict[Path, Keyframes] | None = None
) -> FilmSummary:
    """Colorize ``plan``'s films (:func:`~unet_resnet.film.colorize.colorize_films`) with a bar per film, each
    with its ``keyframes`` (:func:`~unet_resnet.film.keyframes.plan_keyframes`)."""
    from tqdm import tqdm

    from unet_resnet.film.colorize import FilmOptions, FilmProgress, colorize_films

    class Bars(FilmProgress):
        bar: tqdm | None = None

        def start(self, src: Path, frames: int | None) -> None:
            self.bar = tqdm(total=frames, disable=args.quiet, unit="frame", desc=src.name, file=sys.stderr, leave=False)

        def frame(self) -> None:
            if self.bar is not None:
                self.bar.update()

        def end(self) -> None:
            if self.bar is not None:
                self.bar.close()
                self.bar = None

        def failed(self, src: Path, reason: str) -> None:
            tqdm.write(f"failed: {src}: {reason}", file=sys.stderr)

    options = FilmOptions(temporal=args.temporal, batch_size=args.batch_size, quality=args.video_quality)
    return colorize_films(model, plan, options, Bars(), keyframes)
