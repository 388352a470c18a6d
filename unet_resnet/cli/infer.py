"""``unet-resnet infer`` / ``python infer.py --in DIR --out DIR``: colorize a photo or film, or those of a folder.

Everything that can be checked is checked before any work starts (paths, checkpoint, options). Outputs keep each
input's size, name, sub-folder, bit depth and alpha; existing ones are kept unless ``--overwrite``. ``--help`` and
argument errors answer before torch is imported: the library is imported only once the arguments are parsed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from unet_resnet.batch.plan import FORMATS
from unet_resnet.cli.films import add_arguments as add_film_arguments
from unet_resnet.cli.films import check_keyframes, run_films
from unet_resnet.cli.options import PRECISION_HELP, add_hint_spread, add_model, chosen_checkpoint

if TYPE_CHECKING:
    from unet_resnet.batch.pipeline import Job, Summary, Written
    from unet_resnet.film.colorize import FilmSummary
    from unet_resnet.runtime.distributed import DistInfo


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _quality(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 100:
        raise argparse.ArgumentTypeError(f"must be between 1 and 100, got {value}")
    return value


def parse_args(argv: list[str] | None, prog: str | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog=prog,
        description="Colorize black-and-white (or colour) photos. Outputs keep each input's size, name, "
        "sub-folder, bit depth and alpha; L comes from the full-resolution input, ab from the model at --size. "
        "See docs/inference.md.",
    )
    p.add_argument(
        "--in", dest="inp", required=True, help="a folder of photos and films, one photo or film, or a list (.txt)"
    )
    p.add_argument("--out", required=True, help="output folder (or, when --in is a file, an output file)")
    add_model(p)
    p.add_argument("--size", type=int, help="render resolution of the model (default: the training size)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    p.add_argument("--precision", default="fp32", choices=("fp32", "bf16", "fp16"), help=PRECISION_HELP)
    p.add_argument("--batch-size", type=_positive, default=8, help="photos per model call (default 8)")
    p.add_argument(
        "--workers",
        type=_positive,
        help="decode/encode threads (default: this machine's CPUs, shared among its torchrun processes; at most 16)",
    )
    p.add_argument("--format", choices=sorted(FORMATS), help="output format (default: the input's own)")
    p.add_argument("--jpeg-quality", type=_quality, default=95, help="JPEG and WebP quality, 1-100 (default 95)")
    p.add_argument(
        "--compare",
        action="store_true",
        help="also write gray | colour side by side into OUT-compare/ (beside OUT; for a file, NAME-compare.EXT), "
        "with the original as a third picture when it has colour",
    )
    p.add_argument(
        "--restore",
        action="store_true",
        help="also repair scratches, dust and fading (needs a model trained with restore.enabled; docs/restoration.md)",
    )
    p.add_argument(
        "--hints",
        metavar="FILE",
        help="colour hints: a JSON object mapping photos (paths relative to --in) to points, e.g. "
        '{"a.jpg": [{"x": 812, "y": 455, "color": "#2a5db0"}]} (docs/hints.md)',
    )
    add_hint_spread(p)
    p.add_argument(
        "--recursive",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="include the photos and films of sub-folders (default: on; --no-recursive: the folder's own only)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace outputs that already exist")
    p.add_argument("--quiet", action="store_true", help="no progress bar; only problems and the summary")
    p.add_argument("--manifest", help="append one row per input to this .csv or .jsonl file (docs/inference.md)")
    add_film_arguments(p)
    return p.parse_args(argv)


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """One process, or one rank of ``torchrun ... infer.py``: every rank plans, takes its share, and rank 0
    colours the films and prints the summary of the whole run."""
    args = parse_args(argv, prog)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    # Imported only now, so that --help and argument errors do not wait for torch.
    import cv2
    from tqdm import tqdm

    from unet_resnet.batch.plan import UsageError
    from unet_resnet.batch.runner import BatchRun, BatchSettings
    from unet_resnet.film.colorize import FilmSummary, plan_films
    from unet_resnet.models.checkpoint import CheckpointError

    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)  # we report bad files ourselves, once
    inp, out = Path(args.inp), Path(args.out)
    try:
        ckpt = chosen_checkpoint(args.ckpt, args.config)
    except (CheckpointError, ValueError) as exc:  # no model given and none at the default place; a bad --config
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings = BatchSettings(
        inp,
        out,
        ckpt=ckpt,
        device=args.device,
        precision=args.precision,
        size=args.size,
        restore=args.restore,
        hint_spread=args.hint_spread,
        hints=Path(args.hints) if args.hints else None,
        fmt=args.format,
        compare=args.compare,
        recursive=args.recursive,
        overwrite=args.overwrite,
        manifest=Path(args.manifest) if args.manifest else None,
        batch_size=args.batch_size,
        workers=args.workers,
        jpeg_quality=args.jpeg_quality,
    )
    run = BatchRun(settings)
    try:
        films = plan_films(inp, out, args.recursive, args.overwrite)  # films go the film way (rank 0), photos as ever
        run.start()
        film_keys = check_keyframes(run.model, films, args)  # refused before any work
    except (UsageError, CheckpointError, ValueError, RuntimeError, OSError) as exc:
        info = getattr(run, "info", None)  # set once the process group is joined
        print(f"error: {_rank_tag(info)}{exc}", file=sys.stderr)
        return 2
    tag = _rank_tag(run.info)
    if run.info.is_main:
        print(f"model: {run.ckpt}", file=sys.stderr)
    ignored = others_in(inp, args.recursive) if inp.is_dir() else 0
    quiet = args.quiet or not run.info.is_main  # under torchrun, rank 0's bar shows its own share
    bar = tqdm(total=run.total, disable=quiet, unit="photo", file=sys.stderr)

    def fail(path: Path, reason: str) -> None:
        bar.update()
        tqdm.write(f"failed: {path}: {reason}", file=sys.stderr)

    def done(job: Job, written: Written) -> None:
        bar.update()

    summary = run.run(done, fail)
    bar.close()
    reels = FilmSummary()
    if films.jobs and run.info.is_main and not summary.interrupted:
        reels = run_films(run.model, films, args, film_keys)
    if run.info.is_main:
        summary.done, summary.failed = summary.done + reels.done, summary.failed + reels.failed
        summary.skipped += films.skipped
        summary.interrupted |= reels.interrupted
    if summary.interrupted:
        print(f"interrupted: {tag}{summary.done} colorized so far; run again to resume (done photos are skipped)")
        return 130
    if run.info.is_main:
        _print_summary(summary, run.info.world_size, args.out, args.manifest, reels, ignored)
        print(f"model: {run.model.title}")
    run.close()  # the others exit after rank 0 has printed: torchrun stops every rank once one exits with an error
    return 1 if summary.failed else 0


def _rank_tag(info: DistInfo | None) -> str:
    """``rank N: `` before a message under torchrun, nothing in one process."""
    return f"rank {info.rank}: " if info is not None and info.distributed else ""


def _print_summary(
    summary: Summary, processes: int, out: str, manifest: str | None, reels: FilmSummary, ignored: int
) -> None:
    """The run in one line: counts, then speed (photos in photos/s, films in frames/s: one film is many photos)."""
    photos = summary.done - reels.done
    seconds = summary.seconds + reels.seconds
    rates = [f"{photos / summary.seconds:.2f} photos/s"] if photos and summary.seconds > 0 else []
    if reels.frames and reels.seconds > 0:
        rates.append(f"{reels.frames} film frames at {reels.frames / reels.seconds:.1f} frames/s")
    rate = "".join(f", {r}" for r in rates)
    over = f" over {processes} processes" if processes > 1 else ""
    others = f", {ignored} other file(s) ignored (neither photos nor films)" if ignored else ""
    print(
        f"{summary.done} colorized, {summary.skipped} skipped (output exists; --overwrite replaces), "
        f"{summary.failed} failed{others} in {seconds:.1f}s{rate}{over} -> {out}"
    )
    if summary.failed:
        what = "file" if reels.done or reels.failed else "photo"
        where = f" and in {manifest}" if manifest else ""
        print(f"{summary.failed} {what}(s) failed; the reasons are above{where}", file=sys.stderr)


def others_in(folder: Path, recursive: bool) -> int:
    """Files of ``folder`` that are neither photos nor films (notes, sidecars): skipped, and counted in the summary."""
    from unet_resnet.data.imageio import is_image_file, visible_files
    from unet_resnet.film.video import is_video_file

    return sum(1 for p in visible_files(folder, recursive) if not (is_image_file(p) or is_video_file(p)))
