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
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the library is imported once the arguments are parsed
    from unet_resnet.inference.colorizer import Colorizer
    from unet_resnet.inference.film import FilmPlan
    from unet_resnet.inference.keyframes import Keyframes

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


@dataclass
class FilmSummary:
    done: int = 0
    failed: int = 0
    frames: int = 0
    seconds: float = 0.0
    interrupted: bool = False


def check_keyframes(model: Colorizer, plan: FilmPlan, inp: Path, root: Path) -> dict[Path, Keyframes]:
    """Every planned film's keyframes under ``root`` (``--keyframes``), read and checked before any work.

    Raises ``KeyframeError`` (a ``ValueError``) naming the first file that cannot be used, and ``ValueError`` when
    ``root`` is not a folder or holds keyframes of no planned film. A film that cannot be probed is left to fail
    as usual."""
    from unet_resnet.inference.film import film_keyframes
    from unet_resnet.inference.keyframes import KeyframeError, keyframe_folder
    from unet_resnet.inference.video import VideoError

    if not root.is_dir():
        raise KeyframeError(root, "--keyframes takes a folder of keyframes; it does not exist or is not a folder")
    if not plan.jobs:
        raise ValueError(f"--keyframes {root}: --in names no film to colorize (or every output exists: --overwrite)")
    found: dict[Path, Keyframes] = {}
    for src, _ in plan.jobs:
        folder = keyframe_folder(root, inp, src)
        if not folder.is_dir():
            continue
        try:
            keys = film_keyframes(model, src, folder)
        except VideoError:
            continue  # reported when the film is colorized
        if keys.ab:
            found[src] = keys
    if not found:
        raise ValueError(f"--keyframes {root}: no keyframe for any film (names like 000120.png; docs/video.md)")
    return found


def run_films(
    model: Colorizer, plan: FilmPlan, args: argparse.Namespace, keyframes: dict[Path, Keyframes] | None = None
) -> FilmSummary:
    """Colorize ``plan``'s films one after the other (each streams through in frames), with their ``keyframes``."""
    from tqdm import tqdm

    from unet_resnet.inference.film import FilmOptions, colorize_video
    from unet_resnet.inference.video import VideoError, probe

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
            keys = (keyframes or {}).get(src)
            result = colorize_video(model, src, dst, options, on_frame=bar.update, info=info, keyframes=keys)
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
        cuts = f", {result.cuts} scene cut(s)" if args.temporal or result.keyframes else ""
        cuts += f", {result.keyframes} keyframe(s)" if result.keyframes else ""
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
