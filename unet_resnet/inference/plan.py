"""Planning an ``infer`` run: every photo's output (and ``--compare`` output), checked before any work starts.

Bad paths raise :class:`UsageError` with the fix; outputs that exist are kept unless asked; two photos that would
write the same file are reported as conflicts instead of overwriting each other.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from unet_resnet.data.imageio import IMAGE_SUFFIXES, is_image_file, list_images

FORMATS = {"jpg": ".jpg", "jpeg": ".jpg", "png": ".png", "webp": ".webp", "tif": ".tif", "tiff": ".tif", "bmp": ".bmp"}
"""``--format`` names and the suffix each writes."""


class UsageError(ValueError):
    """A command line that cannot work; raised before any photo is touched."""


@dataclass(frozen=True)
class Job:
    """One photo to colorize: where it comes from and what to write (None: already there, kept)."""

    src: Path
    dst: Path | None
    compare: Path | None


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)
    skipped: int = 0
    conflicts: list[tuple[Path, str]] = field(default_factory=list)


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


Target = tuple[Path, Path, "Path | None"]
"""``(source, output, compare output or None)``."""


def _compare_root(out: Path) -> Path:
    """Where ``--compare`` images of an output folder go: ``OUT-compare`` beside it."""
    out = out.resolve()
    return out.parent / f"{out.name}-compare"


def _check_folders(inp: Path, out: Path, compare: bool) -> None:
    """Refuse output folders inside (or equal to, or containing) the input folder."""
    src = inp.resolve()
    folders = [("--out", out.resolve())] + ([("the --compare folder", _compare_root(out))] if compare else [])
    for name, folder in folders:
        if _inside(folder, src):
            raise UsageError(
                f"{name} {folder} is inside --in {inp} (or equal to it): outputs would mix with the photos "
                "and be read back as inputs on the next run; choose an output folder outside the input folder"
            )
        if _inside(src, folder):
            raise UsageError(f"--in {inp} is inside {name} {folder}; choose an output folder outside it")


def _destinations(inp: Path, out: Path, fmt: str | None, compare: bool, recursive: bool) -> list[Target]:
    """``(source, output, compare output or None)`` for every photo; raises :class:`UsageError`."""
    suffix = FORMATS[fmt] if fmt else None
    if inp.is_file():
        if not is_image_file(inp):
            raise UsageError(f"--in {inp} is not a photo (expected one of {', '.join(IMAGE_SUFFIXES)})")
        if is_image_file(out) and not out.is_dir():  # --out names the output file
            if suffix and FORMATS.get(out.suffix.lower()[1:]) != suffix:
                raise UsageError(f"--format {fmt} contradicts --out {out}; drop one of them")
            if out.resolve() == inp.resolve():
                raise UsageError(f"--out {out} is the input photo itself; choose another output")
            return [(inp, out, out.with_name(f"{out.stem}-compare{out.suffix}") if compare else None)]
        name = inp.name if suffix is None else inp.stem + suffix
        if (out / name).resolve() == inp.resolve():
            raise UsageError(f"--out {out} would replace the input photo itself; choose another output folder")
        return [(inp, out / name, _compare_root(out) / name if compare else None)]
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, but --in {inp} is a folder; give an output folder")
    _check_folders(inp, out, compare)
    triples = []
    for src in list_images(inp, recursive):
        rel = src.relative_to(inp)
        if suffix:
            rel = rel.with_suffix(suffix)
        triples.append((src, out / rel, _compare_root(out) / rel if compare else None))
    return triples


def make_plan(
    inp: Path, out: Path, fmt: str | None = None, compare: bool = False, recursive: bool = True, overwrite: bool = False
) -> Plan:
    """Every photo's job, checked before any work: bad paths raise :class:`UsageError`.

    Two photos that would write the same output (``a.png`` and ``a.PNG``, or ``a.png`` and ``a.jpg`` with
    ``--format``; compared case-insensitively, as on macOS and Windows) are not both written: the first in name
    order is, the others become conflicts (reported as failed). Existing outputs are kept unless ``overwrite``.
    """
    if not inp.exists():
        raise UsageError(f"--in {inp} does not exist")
    plan = Plan()
    owner: dict[str, Path] = {}
    for src, dst, cmp in _destinations(inp, out, fmt, compare, recursive):
        key = os.path.normcase(str(dst.resolve())).casefold()
        if key in owner:
            plan.conflicts.append((src, f"its output {dst} is also the output of {owner[key]}; rename one of them"))
            continue
        owner[key] = src
        keep_dst = dst.exists() and not overwrite
        keep_cmp = cmp is None or (cmp.exists() and not overwrite)
        if keep_dst and keep_cmp:
            plan.skipped += 1
        else:
            plan.jobs.append(Job(src, None if keep_dst else dst, None if keep_cmp else cmp))
    return plan
