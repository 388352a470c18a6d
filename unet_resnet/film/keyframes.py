"""Keyframes: frames of a film that a person coloured, found by their file names and checked before any work.

A keyframe is a colour image named by the 0-based number of the film frame it shows: ``120.png`` or
``000120.png`` (png, jpg, tif). Only its colours are used: its ab in Lab, resized to the model's size; its
lightness is replaced by the film's own frame, so a keyframe coloured on a resized or slightly edited frame still
works. It shows the frame as a player shows it (rotation applied) and must have the film's displayed aspect ratio.

For a folder of films, the keyframes of ``IN/reel1/part.mp4`` are in ``DIR/reel1/part/`` (the film's path
relative to ``--in``, without its extension). The contact sheet that ``unet-resnet keyframes`` writes beside the
frames (:data:`CONTACT_SHEET`) and hidden files are not keyframes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from unet_resnet.data.color import AB_SCALE
from unet_resnet.data.imageio import ImageReadError, read_rgb8
from unet_resnet.film.video import VideoError, VideoInfo, count_frames, probe

KEYFRAME_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
CONTACT_SHEET = "contact_sheet.jpg"
"""The overview of the shots written beside the frames; not a keyframe."""
ASPECT_TOLERANCE = 0.02
"""Relative difference of width/height to the film's displayed frame accepted as the same aspect ratio (the
rounding of a resized frame)."""
_NUMBER = re.compile(r"[0-9]{1,9}")


@dataclass(frozen=True)
class Keyframes:
    """A film's keyframes, checked: frame number -> ab / 128 at the model's size ``(2, size, size)``, upright."""

    ab: dict[int, np.ndarray]
    size: int


class KeyframeError(ValueError):
    """A keyframe that cannot be used; ``str()`` names the file and the problem."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = Path(path), reason


def keyframe_name(frame: int) -> str:
    """The file name a keyframe of 0-based ``frame`` gets: ``000120.png``."""
    return f"{frame:06d}.png"


def frame_number(path: str | Path) -> int:
    """The 0-based frame number a keyframe file is named for; raises :class:`KeyframeError` for a bad name."""
    path = Path(path)
    if path.suffix.lower() not in KEYFRAME_SUFFIXES:
        raise KeyframeError(
            path, f"is not a keyframe image: the name must end in {', '.join(KEYFRAME_SUFFIXES)} (e.g. 000120.png)"
        )
    if not _NUMBER.fullmatch(path.stem):
        raise KeyframeError(
            path, "a keyframe is named by its 0-based frame number and nothing else (120.png or 000120.png)"
        )
    return int(path.stem)


def find_keyframes(folder: str | Path) -> dict[int, Path]:
    """The keyframe files of one film's folder by frame number (sub-folders, hidden files and the contact sheet
    are left alone). Raises :class:`KeyframeError` for a bad name or two files of the same frame."""
    folder = Path(folder)
    if not folder.is_dir():
        raise KeyframeError(folder, "is not a folder of keyframes (--keyframes takes a folder)")
    found: dict[int, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.is_dir() or path.name.startswith(".") or path.name == CONTACT_SHEET:
            continue
        number = frame_number(path)
        if number in found:
            raise KeyframeError(path, f"frame {number} has two keyframes ({found[number].name} too); keep one")
        found[number] = path
    return found


def keyframe_folder(root: Path, inp: Path, film: Path) -> Path:
    """Where a film's keyframes are: ``root`` itself for one film, ``root/<film relative to inp, no suffix>``
    for the films of a folder ``inp``."""
    return root / film.relative_to(inp).with_suffix("") if inp.is_dir() else root


def displayed_size(width: int, height: int, rotation: int) -> tuple[int, int]:
    """A frame's ``(width, height)`` as a player shows it (turned by ``rotation`` degrees)."""
    return (height, width) if rotation % 180 == 90 else (width, height)


def check_keyframe(where: str | Path, number: int, shape: tuple[int, ...], size: tuple[int, int], frames: int) -> None:
    """Raise :class:`KeyframeError` unless an image of ``shape`` can be frame ``number`` of a film of ``frames``
    frames shown at ``size`` (width, height); ``frames`` 0: the count is unknown."""
    if frames and number >= frames:
        raise KeyframeError(
            where, f"frame {number} is beyond the film's end (it has {frames} frames, 0 to {frames - 1})"
        )
    h, w = shape[:2]
    want = size[0] / size[1]
    if h < 1 or w < 1 or abs(w / h - want) > ASPECT_TOLERANCE * want:
        raise KeyframeError(
            where,
            f"is {w}x{h}, another aspect ratio than the film's {size[0]}x{size[1]} frames; colour the frame as "
            "exported (unet-resnet keyframes) or resized, not cropped",
        )


def keyframe_ab(rgb: np.ndarray, size: int) -> np.ndarray:
    """A keyframe's colours at the model's size: its ab / 128, float32 ``(2, size, size)`` in ``[-1, 1]``.

    ``rgb``: uint8 ``(H, W, 3)`` RGB, shown upright. Resized as a frame is for the model (area when shrinking),
    then converted to Lab; its L is not used.
    """
    interp = cv2.INTER_AREA if max(rgb.shape[:2]) > size else cv2.INTER_CUBIC
    small = cv2.resize(np.ascontiguousarray(rgb[..., :3]), (size, size), interpolation=interp)
    lab = cv2.cvtColor(small.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    return np.clip(lab[..., 1:].transpose(2, 0, 1) / AB_SCALE, -1.0, 1.0).astype(np.float32)


def prepare_keyframes(
    images: Mapping[int, np.ndarray], size: tuple[int, int], frames: int, model_size: int
) -> Keyframes:
    """Keyframes given as arrays (frame number -> uint8 RGB, upright) -> their ab at the model's size; each is
    checked first (:func:`check_keyframe`)."""
    for number, rgb in images.items():
        if not isinstance(number, (int, np.integer)) or number < 0:
            raise KeyframeError(f"keyframe {number!r}", "frame numbers are integers from 0")
        if rgb.ndim != 3 or rgb.shape[2] < 3 or rgb.dtype != np.uint8:
            raise KeyframeError(f"keyframe {number}", f"must be uint8 RGB (H, W, 3), got {rgb.dtype} {rgb.shape}")
        check_keyframe(f"keyframe {number}", int(number), rgb.shape, size, frames)
    return Keyframes({int(n): keyframe_ab(rgb, model_size) for n, rgb in sorted(images.items())}, model_size)


def load_keyframes(folder: str | Path, size: tuple[int, int], frames: int, model_size: int) -> Keyframes:
    """A folder's keyframes, read and checked (names, readability, aspect ratio, frame numbers), as their ab at the
    model's size. Raises :class:`KeyframeError` naming the first file that cannot be used; an empty folder gives
    no keyframes."""
    found = find_keyframes(folder)
    images: dict[int, np.ndarray] = {}
    for number, path in found.items():
        try:
            rgb = read_rgb8(path)
        except (ImageReadError, OSError) as exc:
            raise KeyframeError(path, f"cannot be read ({getattr(exc, 'reason', exc)})") from None
        check_keyframe(path, number, rgb.shape, size, frames)
        images[number] = keyframe_ab(rgb, model_size)
    return Keyframes(images, model_size)


def film_keyframes(
    src: str | Path, keyframes: Mapping[int, np.ndarray] | str | Path, model_size: int, info: VideoInfo | None = None
) -> Keyframes:
    """A film's keyframes from a folder, or from arrays (frame number -> uint8 RGB as shown), checked against the
    film ``src`` (frame count, displayed aspect ratio) and turned into ab at the model's size; raises
    :class:`KeyframeError` (and ``VideoError`` for a film that cannot be read)."""
    info = info or probe(src)
    shown = displayed_size(info.width, info.height, info.rotation)
    frames = count_frames(src, info)
    if isinstance(keyframes, (str, Path)):
        return load_keyframes(keyframes, shown, frames, model_size)
    return prepare_keyframes(keyframes, shown, frames, model_size)


def plan_keyframes(films: Iterable[Path], inp: Path, root: Path, model_size: int) -> dict[Path, Keyframes]:
    """The keyframes under ``root`` (``--keyframes``) of every film to colour, read and checked before any work.

    For one film (``inp`` a file) they are in ``root``; for a folder's films in ``root/<film relative to inp, no
    suffix>/`` (:func:`keyframe_folder`). Raises :class:`KeyframeError` naming the first file that cannot be used,
    and ``ValueError`` when ``root`` holds no keyframe of any of the films. A film that cannot be probed is left to
    fail when it is colorized."""
    if not root.is_dir():
        raise KeyframeError(root, "--keyframes takes a folder of keyframes; it does not exist or is not a folder")
    films = list(films)
    if not films:
        raise ValueError(f"--keyframes {root}: --in names no film to colorize (or every output exists: --overwrite)")
    found: dict[Path, Keyframes] = {}
    for src in films:
        folder = keyframe_folder(root, inp, src)
        if not folder.is_dir():
            continue
        try:
            keys = film_keyframes(src, folder, model_size)
        except VideoError:
            continue
        if keys.ab:
            found[src] = keys
    if not found:
        raise ValueError(f"--keyframes {root}: no keyframe for any film (names like 000120.png; docs/video.md)")
    return found
