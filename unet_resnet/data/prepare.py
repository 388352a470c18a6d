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
byte for byte. ``RAW`` is only read. ``train.txt`` / ``val.txt`` list the copies relative to ``--out``, each followed
by a tab and its colorfulness, so that training skips grayscale photos without decoding every photo first.

Re-runs: ``--out/.prepare-cache.json`` records what was learnt about each source (keyed by its path, size and
modification time) and which output was written from it (with the output's size and modification time and the
``--size`` / ``--jpeg-quality`` used). A source whose size and mtime are unchanged is not read again; an output is
rewritten only when it is missing, was changed on disk, or the source or those two settings changed.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import random
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any


from unet_resnet.data.files import write_atomic
from unet_resnet.data.sources import (
    PrepareError,
    Settings,
    analyze,
    check_folders,
    init_worker,
    output_names,
    parse_val,
    split,
    val_count,
    walk,
)

log = logging.getLogger(__name__)

REASONS = ("unreadable", "truncated", "duplicate", "too_small", "grayscale")
CACHE_NAME = ".prepare-cache.json"
CACHE_VERSION = 1


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
    on_progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Examine, filter, copy and split; returns the report (also written to ``out/report.json``).

    ``on_progress(done, total)`` is called after each photo examined: photos kept of ``limit`` when one is given,
    else photos examined of all found (the command draws a bar)."""
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
        ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=init_worker)
        if workers > 1
        else None
    )

    def submit(rel: Path) -> Future:
        if pool is not None:
            return pool.submit(analyze, src / rel, names[rel].suffix.lower(), s)
        fut: Future = Future()
        fut.set_result(analyze(src / rel, names[rel].suffix.lower(), s))
        return fut

    total, done = limit or len(order), 0
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
            done += 1 if not limit or not reason else 0
            if on_progress is not None:
                on_progress(done, total)
            if limit and len(kept) == limit:
                break
        # kept, source unchanged, but the copy is missing, was changed, or --size / --jpeg-quality changed
        for rel, _, encoded, _ in _stream(stale, lambda _: None, submit, window=4 * max(1, workers)):
            work["analyzed"] += 1
            if encoded is None:
                raise PrepareError(f"{src / rel} changed while being prepared; run again")
            record(rel, encoded)
    finally:
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
    header = (
        "# written by unet-resnet prepare; paths are relative to this file's folder; after the tab, the photo's "
        "colorfulness (training trusts it instead of decoding the photo)\n"
    )
    for name, part in (("train.txt", train), ("val.txt", held)):
        lines = [(names[r].as_posix(), cache[r.as_posix()]["colorfulness"]) for r in part]
        text = "".join(("./" if x.startswith("#") else "") + f"{x}\t{c:.2f}\n" for x, c in lines)
        _write_if_changed(out / name, header + text)
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
