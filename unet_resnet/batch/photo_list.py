"""``--in list.txt``: a text file of photo paths, one a line, as training lists are.

Blank lines and lines starting with ``#`` are ignored; a relative path is relative to the list's folder. Each
photo's output keeps the path's sub-folders: ``1950/wedding/a.jpg`` in the list becomes ``OUT/1950/wedding/a.jpg``.
A path outside the list's folder (absolute, or through ``..``) keeps its whole path under OUT, without the root
(``/mnt/scans/a.jpg`` -> ``OUT/mnt/scans/a.jpg``), so two photos never share an output by accident.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePath

from unet_resnet.data.imageio import IMAGE_SUFFIXES, is_image_file

LIST_SUFFIXES = (".txt", ".lst")


class PhotoListError(ValueError):
    """A list that cannot be used at all (not text, no photos); the message names the file and the fix."""


@dataclass(frozen=True)
class Listed:
    """One photo of a list: where it is, where its output goes under ``--out``, and why it cannot be used."""

    src: Path
    rel: PurePath
    problem: str = ""


def is_photo_list(path: str | Path) -> bool:
    """Whether ``path`` is named like a list of photos (``.txt`` or ``.lst``)."""
    return Path(path).suffix.lower() in LIST_SUFFIXES


def mirrored(src: Path, folder: Path) -> PurePath:
    """``src``'s place under ``--out``: relative to ``folder`` when inside it, else its whole path less the root."""
    norm = Path(os.path.normpath(os.path.abspath(src)))
    base = Path(os.path.normpath(os.path.abspath(folder)))
    if base in norm.parents:
        return norm.relative_to(base)
    return PurePath(*norm.parts[1:])


def read_photo_list(path: str | Path) -> list[Listed]:
    """Every photo of the list in its order, each with its output path under ``--out`` (relative).

    A line naming a file that does not exist, or that is not a photo, is kept with its ``problem`` (the run reports
    it as failed and goes on). Raises :class:`PhotoListError` when the list cannot be read or names no photo.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise PhotoListError(f"--in {path} is not a UTF-8 text file; a list names one photo path per line") from None
    except OSError as exc:
        raise PhotoListError(f"--in {path} cannot be read ({exc.strerror or exc})") from None
    listed = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        given = Path(line)
        src = given if given.is_absolute() else path.parent / given
        problem = ""
        if not is_image_file(src):
            problem = f"line {n} of {path} is not a photo (expected one of {', '.join(IMAGE_SUFFIXES)})"
        elif not src.is_file():
            problem = f"listed on line {n} of {path}, but there is no such file"
        listed.append(Listed(src, mirrored(src, path.parent), problem))
    if not listed:
        raise PhotoListError(f"--in {path} lists no photos (one path a line; '#' starts a comment)")
    return listed
