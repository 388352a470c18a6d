"""``unet-resnet prepare --src RAW --out data/NAME``: a clean, resized, split copy of a folder of photos.

Every image file under ``RAW`` (recursive; hidden files and folders skipped) is examined in worker processes and
dropped, with its reason in ``report.json``, when it is

1. ``unreadable``: empty, not an image, or not decodable;
2. ``truncated``: a JPEG without its end-of-image marker after the last scan, or a PNG without ``IEND``;
3. ``duplicate``: the same bytes (SHA-256) as a file met earlier (sorted order, or the ``--limit`` order);
4. ``too_small``: shorter side below ``--min-side``;
5. ``grayscale``: Hasler-Suesstrunk colorfulness below ``--min-colorfulness`` (grayscale, sepia, RGB-saved gray).

The others get an upright (EXIF orientation applied), resized copy under ``--out`` at the same relative path: the
shorter side becomes ``--size`` (never upscaled). JPEGs stay JPEG (quality 95, 4:4:4 chroma: colour is what the
model learns), PNGs stay PNG, other formats become PNG; a file that needs neither resizing nor turning is copied
byte for byte. ``RAW`` is only read. ``train.txt`` / ``val.txt`` list the copies relative to ``--out``.

Re-runs: ``--out/.prepare-cache.json`` records what was learnt about each source (keyed by its path, size and
modification time) and which output was written from it (with the output's size and modification time and the
``--size`` / ``--jpeg-quality`` used). A source whose size and mtime are unchanged is not read again; an output is
rewritten only when it is missing, was changed on disk, or the source or those two settings changed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import multiprocessing
import os
import random
import sys
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from tqdm import tqdm

from unet_resnet.data.color import colorfulness
from unet_resnet.data.imageio import IMAGE_SUFFIXES, ImageReadError, exif_orientation, read_bytes, read_rgb8, write_atomic

log = logging.getLogger(__name__)

REASONS = ("unreadable", "truncated", "duplicate", "too_small", "grayscale")
CACHE_NAME = ".prepare-cache.json"
CACHE_VERSION = 1
KEEP_FORMAT = (".jpg", ".jpeg", ".png")
# full-resolution chroma where OpenCV can write it (4.5.5+): the colour channels are what the model learns
CHROMA_444 = (
    [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]
    if hasattr(cv2, "IMWRITE_JPEG_SAMPLING_FACTOR_444")
    else []
)


class PrepareError(ValueError):
    """Arguments or folders that cannot be prepared; the message says what to change."""


@dataclass(frozen=True)
class Settings:
    size: int = 256
    min_side: int = 128
    min_colorfulness: float = 10.0
    jpeg_quality: int = 95


# ---------------------------------------------------------------------------------------------- per-file work
def is_truncated(data: bytes) -> bool:
    """True for a JPEG whose last scan has no end-of-image marker after it, or a PNG without its IEND chunk."""
    if data[:2] == b"\xff\xd8":
        return data.rfind(b"\xff\xd9") < data.rfind(b"\xff\xda")  # 0xFF inside scan data is always stuffed
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return data.rfind(b"IEND") < 0
    return False


def passes(facts: dict[str, Any], s: Settings) -> bool:
    """Whether a decodable photo's facts meet the size and colorfulness thresholds."""
    return min(facts["width"], facts["height"]) >= s.min_side and facts["colorfulness"] >= s.min_colorfulness


def encode_copy(raw: bytes, rgb: np.ndarray, suffix: str, s: Settings) -> bytes:
    """The output file's bytes for an upright uint8 RGB photo ``(H, W, 3)`` decoded from ``raw``."""
    h, w = rgb.shape[:2]
    if 0 < s.size < min(h, w):
        nw, nh = (s.size, round(h * s.size / w)) if w <= h else (round(w * s.size / h), s.size)
        rgb = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA)
    elif exif_orientation(raw[: 1 << 20]) == 1 and suffix in KEEP_FORMAT:
        return raw  # already small enough and upright: an exact copy loses nothing
    params = [cv2.IMWRITE_JPEG_QUALITY, s.jpeg_quality, *CHROMA_444] if suffix in (".jpg", ".jpeg") else []
    ok, enc = cv2.imencode(suffix, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise ValueError(f"OpenCV cannot encode a {suffix} file")
    return enc.tobytes()


def analyze(path: Path, out_suffix: str, s: Settings) -> tuple[dict[str, Any], bytes | None]:
    """Facts about one source file, and the output's bytes when the file passes its own checks.

    Facts: ``bytes``, ``mtime_ns``, then either ``error`` + ``detail`` or ``sha256``, ``width``, ``height`` (upright)
    and ``colorfulness``. Never raises for a bad file: the failure is a fact.
    """
    st = path.stat()
    facts: dict[str, Any] = {"bytes": st.st_size, "mtime_ns": st.st_mtime_ns}
    try:
        data = read_bytes(path)
        raw = data.tobytes()
        facts["sha256"] = hashlib.sha256(raw).hexdigest()
        if is_truncated(raw):
            return facts | {"error": "truncated", "detail": "the file ends before the image does"}, None
        rgb = read_rgb8(path, data)
    except ImageReadError as exc:
        return facts | {"error": "unreadable", "detail": exc.reason}, None
    except (cv2.error, MemoryError, ValueError) as exc:
        return facts | {"error": "unreadable", "detail": f"{type(exc).__name__}: {str(exc)[:200]}"}, None
    facts |= {"width": int(rgb.shape[1]), "height": int(rgb.shape[0]), "colorfulness": colorfulness(rgb)}
    return facts, (encode_copy(raw, rgb, out_suffix, s) if passes(facts, s) else None)


def _init_worker() -> None:
    cv2.setNumThreads(1)  # one process per core already


# ------------------------------------------------------------------------------------------------- planning
def walk(src: Path) -> tuple[list[Path], list[Path]]:
    """(image files, other files) under ``src`` as sorted relative paths; hidden names are skipped."""
    images: list[Path] = []
    others: list[Path] = []
    for folder, dirs, files in os.walk(src):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if name.startswith("."):
                continue
            rel = (Path(folder) / name).relative_to(src)
            (images if rel.suffix.lower() in IMAGE_SUFFIXES else others).append(rel)
    return sorted(images), sorted(others)


def output_names(images: list[Path]) -> dict[Path, Path]:
    """Output path (relative to ``--out``) of each source: same path; formats other than JPEG/PNG become .png."""
    names = {rel: rel for rel in images if rel.suffix.lower() in KEEP_FORMAT}
    taken = set(names.values())
    for rel in images:
        if rel not in names:
            name = rel.with_suffix(".png")
            names[rel] = name if name not in taken else rel.with_name(rel.name + ".png")
            taken.add(names[rel])
    return names


def check_folders(src: Path, out: Path) -> None:
    if not src.is_dir():
        raise PrepareError(f"--src {src} is not a folder; give the folder of raw photos")
    s, o = src.resolve(), out.resolve()
    if o == s or s in o.parents:
        raise PrepareError(
            f"--out {out} is inside --src {src}: the copies would mix with the originals; choose a "
            "folder outside it, e.g. data/NAME"
        )
    if o in s.parents:
        raise PrepareError(
            f"--src {src} is inside --out {out}: outputs could overwrite originals; choose another --out"
        )


def parse_val(value: str) -> float:
    """``--val``: a count (``200``) or a fraction (``0.1``) of the kept photos."""
    try:
        v = float(value)
    except ValueError:
        raise PrepareError(f"--val {value!r} is neither a count (e.g. 200) nor a fraction (e.g. 0.1)") from None
    if v < 0 or (v >= 1 and v != int(v)):
        raise PrepareError(f"--val {value}: give a count >= 0 or a fraction in [0, 1)")
    return v


def val_count(value: str, kept: int) -> int:
    """How many of ``kept`` photos ``--val value`` holds out (a fraction holds out at least one of two or more)."""
    v = parse_val(value)
    n = int(v) if v >= 1 else (max(1, round(kept * v)) if v > 0 and kept >= 2 else 0)
    if n and n >= kept:
        raise PrepareError(f"--val {value} holds out {n} of {kept} kept photos, leaving none to train on; lower it")
    return n


def split(kept: dict[Path, str], n_val: int, seed: int) -> tuple[list[Path], list[Path]]:
    """Held out: the ``n_val`` photos whose ``sha256(seed, content hash)`` is smallest.

    A photo's side depends on its content and the seed only, not on its name or on which other files exist (new
    files can push a held-out photo into training only when ``n_val`` is a fixed count).
    """
    rank = sorted(kept, key=lambda p: hashlib.sha256(f"{seed}:{kept[p]}".encode()).hexdigest())
    return sorted(rank[n_val:]), sorted(rank[:n_val])


# ---------------------------------------------------------------------------------------------------- running
def _stream(
    order: list[Path], cached: Callable[[Path], dict | None], submit: Callable[[Path], Future], window: int
) -> Iterator[tuple[Path, dict[str, Any], bytes | None, bool]]:
    """``(rel, facts, encoded, fresh)`` in ``order``; at most ``window`` files are being analysed at once."""
    queue: deque[tuple[Path, dict | None, Future | None]] = deque()
    todo = iter(order)
    busy = 0
    while True:
        while busy < window and (rel := next(todo, None)) is not None:
            facts = cached(rel)
            queue.append((rel, facts, None if facts else submit(rel)))
            busy += facts is None
        if not queue:
            return
        rel, facts, fut = queue.popleft()
        if fut is None:
            yield rel, facts or {}, None, False
        else:
            busy -= 1
            got, encoded = fut.result()
            yield rel, got, encoded, True


def _load_cache(out: Path, rescan: bool) -> dict[str, dict[str, Any]]:
    path = out / CACHE_NAME
    if rescan or not path.is_file():
        return {}
    try:
        cache = json.loads(path.read_text())
    except (OSError, ValueError):
        log.warning("%s is unreadable; examining every source again", path)
        return {}
    return cache.get("files", {}) if cache.get("version") == CACHE_VERSION else {}


def _write_if_changed(path: Path, text: str) -> None:
    if not path.is_file() or path.read_text() != text:
        write_atomic(path, text.encode())


def prepare(
    src: Path,
    out: Path,
    s: Settings,
    limit: int = 0,
    val: str = "0.1",
    seed: int = 0,
    workers: int = 1,
    rescan: bool = False,
    progress: bool = False,
) -> dict[str, Any]:
    """Examine, filter, copy and split; returns the report (also written to ``out/report.json``)."""
    check_folders(src, out)
    parse_val(val)
    images, others = walk(src)
    names = output_names(images)
    order = list(images)
    if limit:
        random.Random(seed).shuffle(order)
    old = _load_cache(out, rescan)
    # facts of sources not visited this time (beyond --limit) are kept; outputs are recorded again for what is kept
    cache = {k: {f: v for f, v in e.items() if f != "output"} for k, e in old.items() if Path(k) in names}

    def cached(rel: Path) -> dict | None:
        e = old.get(rel.as_posix())
        st = (src / rel).stat()
        return e if e and (e["bytes"], e["mtime_ns"]) == (st.st_size, st.st_mtime_ns) else None

    def output_fresh(rel: Path) -> bool:
        o, p = old.get(rel.as_posix(), {}).get("output"), out / names[rel]
        if not o or o["path"] != names[rel].as_posix() or [o["size"], o["jpeg_quality"]] != [s.size, s.jpeg_quality]:
            return False
        return p.is_file() and (p.stat().st_size, p.stat().st_mtime_ns) == (o["bytes"], o["mtime_ns"])

    def record(rel: Path, encoded: bytes) -> None:
        p = out / names[rel]
        write_atomic(p, encoded)
        st = p.stat()
        cache[rel.as_posix()]["output"] = {
            "path": names[rel].as_posix(),
            "bytes": st.st_size,
            "mtime_ns": st.st_mtime_ns,
            "size": s.size,
            "jpeg_quality": s.jpeg_quality,
        }
        work["written"] += 1

    dropped: dict[str, list[dict[str, Any]]] = {r: [] for r in REASONS}
    kept: dict[Path, str] = {}
    seen: dict[str, Path] = {}
    work = {"analyzed": 0, "written": 0, "reused": 0}
    stale: list[Path] = []
    # spawn, not fork: a fork of a process whose OpenMP / OpenCV thread pools are already running (a notebook, a
    # test session, anything that imported torch) can deadlock in the child
    pool = (
        ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker)
        if workers > 1
        else None
    )

    def submit(rel: Path) -> Future:
        if pool is not None:
            return pool.submit(analyze, src / rel, names[rel].suffix.lower(), s)
        fut: Future = Future()
        fut.set_result(analyze(src / rel, names[rel].suffix.lower(), s))
        return fut

    bar = tqdm(total=limit or len(order), disable=not progress, unit="photo", desc="prepare")
    try:
        for rel, facts, encoded, fresh in _stream(order, cached, submit, window=4 * max(1, workers)):
            cache[rel.as_posix()] = {k: v for k, v in facts.items() if k != "output"}
            work["analyzed" if fresh else "reused"] += 1
            entry: dict[str, Any] = {"path": rel.as_posix()}
            if "error" in facts:
                reason = facts["error"]
                entry["detail"] = facts["detail"]
            elif facts["sha256"] in seen:
                reason, entry["duplicate_of"] = "duplicate", seen[facts["sha256"]].as_posix()
            elif min(facts["width"], facts["height"]) < s.min_side:
                seen[facts["sha256"]] = rel
                reason, entry["width"], entry["height"] = "too_small", facts["width"], facts["height"]
            elif facts["colorfulness"] < s.min_colorfulness:
                seen[facts["sha256"]] = rel
                reason, entry["colorfulness"] = "grayscale", round(facts["colorfulness"], 2)
            else:
                seen[facts["sha256"]] = rel
                kept[rel], reason = facts["sha256"], ""
                if encoded is not None:
                    record(rel, encoded)
                elif output_fresh(rel):
                    cache[rel.as_posix()]["output"] = old[rel.as_posix()]["output"]
                else:
                    stale.append(rel)
            if reason:
                dropped[reason].append(entry)
            bar.update(1 if not limit or not reason else 0)
            if limit and len(kept) == limit:
                break
        # kept, source unchanged, but the copy is missing, was changed, or --size / --jpeg-quality changed
        for rel, _, encoded, _ in _stream(stale, lambda _: None, submit, window=4 * max(1, workers)):
            work["analyzed"] += 1
            if encoded is None:
                raise PrepareError(f"{src / rel} changed while being prepared; run again")
            record(rel, encoded)
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        out.mkdir(parents=True, exist_ok=True)
        _write_if_changed(out / CACHE_NAME, json.dumps({"version": CACHE_VERSION, "files": cache}, sort_keys=True))

    current = {names[rel] for rel in kept}
    for key, entry in old.items():  # outputs this tool wrote earlier that are no longer selected
        o = entry.get("output") or {}
        path = out / o.get("path", "")
        if o and Path(o["path"]) not in current and path.is_file() and path.stat().st_mtime_ns == o["mtime_ns"]:
            log.info("removing %s: %s is no longer selected", path, key)
            path.unlink()

    train, held = split(kept, val_count(val, len(kept)), seed)
    header = "# written by unet-resnet prepare; paths are relative to this file's folder\n"
    for name, part in (("train.txt", train), ("val.txt", held)):
        lines = [names[r].as_posix() for r in part]
        _write_if_changed(out / name, header + "".join(("./" if x.startswith("#") else "") + x + "\n" for x in lines))
    report = {
        "src": str(src),
        "settings": asdict(s) | {"limit": limit, "val": val, "seed": seed},
        "counts": {"images_found": len(images), "kept": len(kept), "train": len(train), "val": len(held)}
        | {r: len(v) for r, v in dropped.items()}
        | {"not_examined_over_limit": len(images) - work["analyzed"] - work["reused"], "not_images": len(others)},
        "dropped": {r: sorted(v, key=lambda e: e["path"]) for r, v in dropped.items()},
        "not_images": [p.as_posix() for p in others],
    }
    _write_if_changed(out / "report.json", json.dumps(report, indent=1) + "\n")
    return report | {"work": work}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="unet-resnet prepare",
        description="Copy a raw folder of photos into a clean training set: drops unreadable, truncated, tiny, "
        "duplicate and grayscale files (reasons in report.json), writes upright resized copies and train/val lists. "
        "The source folder is only read.",
    )
    p.add_argument("--src", required=True, type=Path, help="folder of raw photos (searched recursively)")
    p.add_argument("--out", required=True, type=Path, help="output folder, outside --src (e.g. data/coco)")
    p.add_argument("--size", type=int, default=256, help="shorter side of the copies; 0 keeps full size (default 256)")
    p.add_argument("--min-side", type=int, default=128, help="drop photos whose shorter side is smaller (default 128)")
    p.add_argument("--min-colorfulness", type=float, default=10.0, help="drop less colourful photos (default 10)")
    p.add_argument("--limit", type=int, default=0, help="keep at most this many photos, chosen with --seed")
    p.add_argument("--val", default="0.1", help="held-out photos: a count (500) or a fraction (0.1, the default)")
    p.add_argument("--seed", type=int, default=0, help="seed of the --limit choice and of the split (default 0)")
    p.add_argument("--jpeg-quality", type=int, default=95, help="quality of re-encoded JPEGs (default 95)")
    p.add_argument("--workers", type=int, default=min(8, os.cpu_count() or 1), help="processes (default: cores, <=8)")
    p.add_argument("--rescan", action="store_true", help="examine every source again, ignoring the cache")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s")
    if args.size < 0 or args.min_side < 0 or args.limit < 0 or not 1 <= args.jpeg_quality <= 100:
        p.error("--size, --min-side and --limit must be >= 0 and --jpeg-quality in 1..100")
    settings = Settings(args.size, args.min_side, args.min_colorfulness, args.jpeg_quality)
    try:
        report = prepare(
            args.src,
            args.out,
            settings,
            args.limit,
            args.val,
            args.seed,
            args.workers,
            args.rescan,
            progress=not args.quiet,
        )
    except PrepareError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted: progress is saved in {args.out}/; run the same command to carry on", file=sys.stderr)
        return 130
    c, w = report["counts"], report["work"]
    dropped = ", ".join(f"{c[r]} {r}" for r in REASONS if c[r])
    print(f"{c['kept']} kept of {c['images_found']} ({c['train']} train, {c['val']} val); dropped: {dropped or 'none'}")
    print(f"{w['analyzed']} examined, {w['reused']} unchanged since the last run, {w['written']} copies written")
    print(f"lists and report in {args.out}/ (train.txt, val.txt, report.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
