"""Planning an ``infer`` run: every photo's output (and ``--compare`` output), checked before any work starts.

``--in`` is a folder, one photo, or a list of photos (:mod:`unet_resnet.batch.photo_list`). Bad paths raise
:class:`UsageError` with the fix; outputs that exist are kept unless asked; two photos that would write the same
file are reported as conflicts instead of overwriting each other.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from unet_resnet.batch.photo_list import PhotoListError, is_photo_list, read_photo_list
from unet_resnet.data.imageio import IMAGE_SUFFIXES, is_image_file, list_images

if TYPE_CHECKING:  # the hints module needs torch; planning (and infer --help) must not
    from unet_resnet.hints.points import HintPoint

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
    hints: tuple[HintPoint, ...] = ()
    """Colour hints of this photo (``--hints``), in its pixels; empty: colorized automatically."""


@dataclass
class Plan:
    jobs: list[Job] = field(default_factory=list)
    skipped: int = 0
    conflicts: list[tuple[Path, str]] = field(default_factory=list)
    kept: list[tuple[Path, Path]] = field(default_factory=list)
    """``(source, existing output)`` of every skipped photo."""


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
            raise UsageError(
                f"--in {inp} is not a photo (expected one of {', '.join(IMAGE_SUFFIXES)}) nor a list of photos (.txt)"
            )
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


def _listed(inp: Path, out: Path, fmt: str | None, compare: bool, plan: Plan) -> list[Target]:
    """Targets of the photos of a list (``--in list.txt``); lines that cannot be used become ``plan.conflicts``."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, but --in {inp} is a list of photos; give an output folder")
    try:
        listed = read_photo_list(inp)
    except PhotoListError as exc:
        raise UsageError(str(exc)) from None
    suffix = FORMATS[fmt] if fmt else None
    targets: list[Target] = []
    for item in listed:
        rel = Path(item.rel).with_suffix(suffix) if suffix else Path(item.rel)
        if item.problem:
            plan.conflicts.append((item.src, item.problem))
        elif (out / rel).resolve() == item.src.resolve():
            plan.conflicts.append((item.src, f"its output {out / rel} is the photo itself; choose another --out"))
        else:
            targets.append((item.src, out / rel, _compare_root(out) / rel if compare else None))
    return targets


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
    if inp.is_file() and is_photo_list(inp):
        targets = _listed(inp, out, fmt, compare, plan)
    else:
        targets = _destinations(inp, out, fmt, compare, recursive)
    for src, dst, cmp in targets:
        key = os.path.normcase(str(dst.resolve())).casefold()
        if key in owner:
            plan.conflicts.append((src, f"its output {dst} is also the output of {owner[key]}; rename one of them"))
            continue
        owner[key] = src
        keep_dst = dst.exists() and not overwrite
        keep_cmp = cmp is None or (cmp.exists() and not overwrite)
        if keep_dst and keep_cmp:
            plan.skipped += 1
            plan.kept.append((src, dst))
        else:
            plan.jobs.append(Job(src, None if keep_dst else dst, None if keep_cmp else cmp))
    return plan


def attach_hints(jobs: list[Job], hints_file: Path, inp: Path, recursive: bool, follows_hints: bool) -> list[Job]:
    """The jobs with the points ``hints_file`` gives their photos (``infer --hints``), all checked first.

    Keys of the file are paths relative to ``inp`` (its name when ``inp`` is one photo; for a list, each photo's
    path under ``--out``); every photo of ``inp`` counts, even one whose output exists. Raises
    :class:`~unet_resnet.hints.points.HintError`.
    """
    from unet_resnet.hints.points import NO_HINTS, HintError, load_hints_file

    if not follows_hints:
        raise HintError(f"--hints {hints_file}: {NO_HINTS}")
    if inp.is_file() and is_photo_list(inp):  # keys: the listed paths as placed under --out
        photos = {item.rel.as_posix(): item.src for item in read_photo_list(inp) if not item.problem}
    elif inp.is_file():
        photos = {inp.name: inp}
    else:
        photos = {src.relative_to(inp).as_posix(): src for src in list_images(inp, recursive)}
    points = load_hints_file(hints_file, photos)
    return [replace(job, hints=tuple(points.get(job.src, ()))) for job in jobs]
