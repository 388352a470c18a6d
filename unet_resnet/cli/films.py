"""The film half of ``unet-resnet infer``: its options, and colorizing the planned films with a progress bar.

A film that cannot be read is reported on one line and counted as failed; a film cut short (truncated, damaged)
is written up to where it decodes, reported with the reason, and counted as failed too, so that the command exits
non-zero. Ctrl-C stops at once and leaves no partial output file.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the library is imported once the arguments are parsed
    from unet_resnet.film.colorize import FilmPlan
    from unet_resnet.inference.colorizer import Colorizer

log = logging.getLogger(__name__)


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
        "--video-quality",
        type=_crf,
        default=18,
        help="films: constant quality of the H.264 (VP9 for .webm) video, 0 lossless to 51 worst (default 18)",
    )


@dataclass
class FilmSummary:
    done: int = 0
    failed: int = 0
    frames: int = 0
    seconds: float = 0.0
    interrupted: bool = False


def run_films(model: Colorizer, plan: FilmPlan, args: argparse.Namespace) -> FilmSummary:
    """Colorize ``plan``'s films one after the other (each streams through in frames)."""
    from tqdm import tqdm

    from unet_resnet.film.colorize import FilmOptions, colorize_video
    from unet_resnet.film.video import VideoError, probe

    summary = FilmSummary()
    options = FilmOptions(temporal=args.temporal, batch_size=args.batch_size, quality=args.video_quality)
    start = time.perf_counter()
    for src, dst in plan.jobs:
        try:
            info = probe(src)
        except VideoError as exc:
            summary.failed += 1
            print(f"failed: {src}: {exc.reason}", file=sys.stderr)
            continue
        total = info.frames or (round(info.duration * float(info.rate)) if info.duration and info.rate else None)
        bar = tqdm(total=total, disable=args.quiet, unit="frame", desc=src.name, file=sys.stderr, leave=False)
        try:
            result = colorize_video(model, src, dst, options, on_frame=bar.update, info=info)
        except VideoError as exc:
            summary.failed += 1
            tqdm.write(f"failed: {src}: {exc.reason}", file=sys.stderr)
            continue
        except KeyboardInterrupt:
            summary.interrupted = True
            break
        finally:
            bar.close()
        summary.frames += result.written.frames
        cuts = f", {result.cuts} scene cut(s)" if args.temporal else ""
        log.info("%s: %d frames, sound %s%s -> %s", src, result.written.frames, result.written.audio, cuts, dst)
        if result.written.problem:
            summary.failed += 1
            print(
                f"failed: {src}: {result.written.problem}; the {result.written.frames} frames before it were "
                f"colorized into {dst}",
                file=sys.stderr,
            )
        else:
            summary.done += 1
    summary.seconds = time.perf_counter() - start
    return summary
