"""The manifest of an inference run (``--manifest FILE.csv`` or ``FILE.jsonl``): one row per input, as it goes.

Columns: ``input``, ``output``, ``status`` (``written``, ``skipped`` or ``failed``), ``reason`` (why it was skipped
or failed), ``width`` and ``height`` (of a written photo), ``seconds`` (from the start of its decoding to its output
being in place) and ``rank`` (the process that handled it).

Each row is one ``os.write`` of a whole line to a file opened for appending, so a killed process leaves whole rows
only: the photos it finished. One process writes FILE itself. Under torchrun every rank appends to its own part,
``NAME.rank-N.part.csv`` (or ``.jsonl``) beside FILE (shared file systems do not keep the lines of several writers
apart), and rank 0 folds the parts into FILE at the end of the run, or, after a killed run, at the start of the
next one. A new run appends to an existing manifest: the last row of an input is its current state.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import re
from pathlib import Path
from types import TracebackType
from typing import Any

log = logging.getLogger(__name__)

COLUMNS = ("input", "output", "status", "reason", "width", "height", "seconds", "rank")
STATUSES = ("written", "skipped", "failed")
MANIFEST_SUFFIXES = (".csv", ".jsonl")
_PART = re.compile(r"\.rank-(\d+)\.part$")


def manifest_format(path: str | Path) -> str:
    """``"csv"`` or ``"jsonl"`` from the file name; raises ``ValueError`` for any other name."""
    suffix = Path(path).suffix.lower()
    if suffix not in MANIFEST_SUFFIXES:
        raise ValueError(f"--manifest {path}: the name must end in .csv or .jsonl (it sets the format)")
    return suffix[1:]


def part_path(path: str | Path, rank: int) -> Path:
    """Where ``rank`` writes its rows of manifest ``path`` under torchrun."""
    path = Path(path)
    return path.with_name(f"{path.stem}.rank-{rank}.part{path.suffix}")


def leftover_parts(path: str | Path) -> list[Path]:
    """The parts of manifest ``path`` that exist, in rank order."""
    path = Path(path)
    found = []
    for p in path.parent.glob(f"{_glob_escape(path.stem)}.rank-*.part{_glob_escape(path.suffix)}"):
        m = _PART.search(p.stem)
        if m and p == part_path(path, int(m.group(1))):
            found.append((int(m.group(1)), p))
    return [p for _, p in sorted(found)]


def _glob_escape(name: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", name)


def encode_row(row: dict[str, Any], fmt: str) -> bytes:
    """One manifest line (with its newline) for a row of :data:`COLUMNS`; line breaks inside values are spaces."""
    values = {k: _flat(row.get(k)) for k in COLUMNS}
    if fmt == "jsonl":
        return (json.dumps(values, ensure_ascii=False) + "\n").encode()
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(["" if values[k] is None else values[k] for k in COLUMNS])
    return buf.getvalue().encode()


def _flat(value: Any) -> Any:
    return " ".join(value.splitlines()) if isinstance(value, str) else value


def _header(fmt: str) -> bytes:
    return (",".join(COLUMNS) + "\n").encode() if fmt == "csv" else b""


def _check_existing(path: Path, fd: int, fmt: str) -> None:
    """Refuse a file that is not a manifest; drop a half-written last line (a write cut by a power loss)."""
    size = os.fstat(fd).st_size
    first = os.pread(fd, 4096, 0).split(b"\n", 1)[0]
    if fmt == "csv":
        ours = first == _header("csv").rstrip(b"\n")
    else:
        try:
            ours = isinstance(json.loads(first), dict) and "status" in json.loads(first)
        except ValueError:
            ours = False
    if not ours:
        raise ValueError(
            f"--manifest {path} exists and is not a manifest of this tool (its first line is {first[:80]!r}); "
            "choose another file name (an existing manifest is appended to, never replaced)"
        )
    tail_start = max(0, size - 65536)
    tail = os.pread(fd, size - tail_start, tail_start)
    if not tail.endswith(b"\n"):
        keep = tail_start + tail.rfind(b"\n") + 1
        log.warning("%s: dropping a half-written last row (%d bytes)", path, size - keep)
        os.ftruncate(fd, keep)


def _open_append(path: Path, fmt: str) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o666)
    try:
        if os.fstat(fd).st_size == 0:
            os.write(fd, _header(fmt))
        else:
            _check_existing(path, fd, fmt)
    except BaseException:
        os.close(fd)
        raise
    return fd


class ManifestWriter:
    """Appends rows for one rank: to ``path`` in a single process, to its part of ``path`` under torchrun."""

    def __init__(self, path: str | Path, rank: int = 0, world_size: int = 1) -> None:
        self.path = Path(path)
        self.format = manifest_format(self.path)
        self.rank = rank
        self.target = self.path if world_size == 1 else part_path(self.path, rank)
        self._fd: int | None = _open_append(self.target, self.format)

    def write(self, **row: Any) -> None:
        """Append one row (keys from :data:`COLUMNS`; ``rank`` is this writer's)."""
        if self._fd is None:
            raise ValueError(f"manifest {self.target} is closed")
        if row.get("status") not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {row.get('status')!r}")
        os.write(self._fd, encode_row(row | {"rank": self.rank}, self.format))

    def written(self, src: Path, dst: Path | None, width: int, height: int, seconds: float) -> None:
        self.write(input=str(src), output=str(dst or ""), status="written", reason="", width=width, height=height,
                   seconds=round(seconds, 4))  # fmt: skip

    def skipped(self, src: Path, dst: Path | None, reason: str) -> None:
        self.write(input=str(src), output=str(dst or ""), status="skipped", reason=reason)

    def failed(self, src: Path, dst: Path | None, reason: str) -> None:
        self.write(input=str(src), output=str(dst or ""), status="failed", reason=reason)

    def close(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ManifestWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def fold_parts(path: str | Path) -> int:
    """Append the rows of every part of manifest ``path`` to it (rank order) and delete the parts.

    Creates ``path`` if needed, and raises ``ValueError`` if it is not a manifest. Returns the number of rows
    moved. Call it when no rank is writing: before a run starts, or after every rank has closed its part.
    """
    path = Path(path)
    fmt = manifest_format(path)
    parts = leftover_parts(path)
    fd = _open_append(path, fmt)
    moved = 0
    try:
        for part in parts:
            data = part.read_bytes()
            if fmt == "csv" and data.startswith(_header("csv")):
                data = data[len(_header("csv")) :]
            data = data[: data.rfind(b"\n") + 1]  # a half-written last line of a killed rank is dropped
            if data:
                os.write(fd, data)
            moved += data.count(b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    for part in parts:
        part.unlink()
    return moved


def read_manifest(path: str | Path) -> list[dict[str, Any]]:
    """Every row of a manifest (CSV values as strings, as written; JSON values typed), in file order."""
    path = Path(path)
    fmt = manifest_format(path)
    text = path.read_text(encoding="utf-8")
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(text)))
    return [json.loads(line) for line in text.splitlines() if line.strip()]
