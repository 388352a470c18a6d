"""``unet-resnet keyframes film.mp4 --out DIR``: the frames of a film for a person to colour.

Writes the first frame of every shot (and with ``--every SECONDS`` more within long shots) as gray PNGs named by
frame number (``000120.png``), upright as a player shows them, and ``contact_sheet.jpg``, an overview of them.
Colour some of them (in ``unet-resnet app``, whose download keeps the name, or any editor), keep the names, and
give the folder back: ``unet-resnet infer --in film.mp4 --out film_colour.mp4 --keyframes DIR``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def _size(text: str) -> int:
    value = int(text)
    if value < 32:
        raise argparse.ArgumentTypeError(f"must be at least 32, got {value}")
    return value


def parse_args(argv: list[str] | None, prog: str | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("film", help="a video file (mp4, mov, m4v, mkv, avi, webm)")
    p.add_argument("--out", required=True, help="folder for the frames to colour (created)")
    p.add_argument("--every", type=_seconds, metavar="SECONDS", help="also a frame every SECONDS within long shots")
    p.add_argument(
        "--size",
        type=_size,
        default=256,
        help="the model's render size, at which shots are found as infer finds them (default 256)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace frames already in --out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p.parse_args(argv)


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    args = parse_args(argv, prog)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    from tqdm import tqdm

    from unet_resnet.film.keyframes import CONTACT_SHEET, KEYFRAME_SUFFIXES
    from unet_resnet.film.shots import write_shot_frames
    from unet_resnet.film.video import VideoError, is_video_file, probe

    film, out = Path(args.film), Path(args.out)
    if not is_video_file(film):
        print(f"error: {film}: not a video file (mp4, mov, m4v, mkv, avi, webm)", file=sys.stderr)
        return 2
    if out.is_dir() and not args.overwrite:
        taken = sorted(
            p.name for p in out.iterdir() if p.name == CONTACT_SHEET or p.suffix.lower() in KEYFRAME_SUFFIXES
        )
        if taken:
            print(
                f"error: {out} already holds images ({', '.join(taken[:3])}{', ...' if len(taken) > 3 else ''}); "
                "choose another folder, or --overwrite to replace frames of the same numbers",
                file=sys.stderr,
            )
            return 2
    try:
        info = probe(film)
    except VideoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    total = info.frames or None
    bar = tqdm(total=total, disable=args.quiet, unit="frame", desc=film.name, file=sys.stderr, leave=False)
    seen = [0]

    def progress(frame: object) -> None:
        number = getattr(frame, "number", 0)
        bar.update(number + 1 - seen[0])
        seen[0] = number + 1

    try:
        written = write_shot_frames(film, out, args.size, args.every, progress)
    except (VideoError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        bar.close()
    shots = sum(f.shot_start for f in written)
    more = len(written) - shots
    extra = f" and {more} more within long shots" if more else ""
    print(
        f"{shots} shot(s): their first frames{extra} written to {out} ({len(written)} PNGs, "
        f"overview {out / CONTACT_SHEET}). Colour some, keep the names, then: unet-resnet infer --in {film} "
        f"--out OUT --keyframes {out}"
    )
    return 0
