"""Colour hints a person gives: points on the photo, checked, and turned into the model's hint map.

A point is ``{"x": 812, "y": 455, "color": "#2a5db0", "size": 5}``: pixel coordinates of the photo as it is shown
(origin top-left, after EXIF orientation; ``0 <= x < width``, ``0 <= y < height``, fractions allowed), an sRGB
colour, and optionally the side of the square it covers at the model's resolution (default
:data:`DEFAULT_HINT_SIZE`). The hint's ab is the colour's own ab in Lab; its lightness is ignored (the photo's L
is kept).

An ``infer --hints FILE`` file is a JSON object that maps each photo's path relative to ``--in`` (or the file's
name when ``--in`` is one file) to its list of points; photos without an entry are colorized automatically.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from unet_resnet.data.color import AB_SCALE
from unet_resnet.data.hints import Patch, paint, place
from unet_resnet.data.imageio import ImageReadError, read_photo

DEFAULT_HINT_SIZE = 3
"""Side of a hint's square at the model's resolution when a point gives no ``size``."""
MAX_HINT_SIZE = 64
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_KEYS = {"x", "y", "color", "size"}


NO_HINTS = (
    "this model does not take colour hints (trained without model.hints) and hint spreading is off "
    "(--hint-spread 0); give a spread above 0, or use a hint model (docs/hints.md)"
)


class HintError(ValueError):
    """Hints that cannot be used; the message names the photo, the point and the problem."""


@dataclass(frozen=True)
class HintPoint:
    """One hint: pixel coordinates of the oriented photo, an sRGB ``#rrggbb`` colour, an optional patch side."""

    x: float
    y: float
    color: str
    size: int | None = None


def color_ab(color: str) -> tuple[float, float]:
    """``#rrggbb`` -> its ``(a, b)`` in Lab divided by 128 (the model's ``[-1, 1]`` scale)."""
    if not isinstance(color, str) or not _COLOR.fullmatch(color):
        raise HintError(f"colour {color!r} is not of the form #rrggbb (e.g. #2a5db0)")
    rgb = np.array([[[int(color[i : i + 2], 16) for i in (1, 3, 5)]]], np.float32) / 255.0
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)[0, 0]
    return float(lab[1]) / AB_SCALE, float(lab[2]) / AB_SCALE


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_point(point: HintPoint, where: str, index: int, width: int, height: int) -> None:
    """Raise :class:`HintError` unless ``point`` lies inside a ``width x height`` photo and is well formed."""
    at = f"{where}: point {index}"
    for name, value, limit in (("x", point.x, width), ("y", point.y, height)):
        if not _number(value):
            raise HintError(f"{at}: {name} must be a number (pixels from the top-left corner), got {value!r}")
        if not 0 <= value < limit:
            side = "width" if name == "x" else "height"
            raise HintError(
                f"{at}: {name}={value} is outside the image ({side} {limit}; {name} must be in [0, {limit}), "
                "pixels of the photo as shown, after EXIF orientation)"
            )
    try:
        color_ab(point.color)
    except HintError as exc:
        raise HintError(f"{at}: {exc}") from None
    if point.size is not None and (
        not isinstance(point.size, int) or isinstance(point.size, bool) or not 1 <= point.size <= MAX_HINT_SIZE
    ):
        raise HintError(f"{at}: size must be a whole number of pixels from 1 to {MAX_HINT_SIZE}, got {point.size!r}")


def parse_points(items: Any, where: str, width: int, height: int) -> list[HintPoint]:
    """One photo's points from JSON-like data (a list of objects, or of :class:`HintPoint`), checked.

    ``where`` names the photo in error messages; ``width`` and ``height`` are the oriented photo's size.
    """
    if not isinstance(items, (list, tuple)):
        raise HintError(f"{where}: expected a list of points like [{{\"x\": 10, \"y\": 20, \"color\": \"#2a5db0\"}}], "
                        f"got {type(items).__name__}")  # fmt: skip
    points = []
    for i, item in enumerate(items):
        if isinstance(item, HintPoint):
            point = item
        elif isinstance(item, Mapping):
            unknown = sorted(set(item) - _KEYS)
            if unknown:
                raise HintError(f"{where}: point {i}: unknown key {unknown[0]!r} (a point has x, y, color, size)")
            missing = [k for k in ("x", "y", "color") if k not in item]
            if missing:
                raise HintError(f"{where}: point {i}: missing {', '.join(missing)} (a point needs x, y and color)")
            point = HintPoint(item["x"], item["y"], item["color"], item.get("size"))
        else:
            raise HintError(f"{where}: point {i}: expected an object with x, y and color, got {item!r}")
        check_point(point, where, i, width, height)
        points.append(point)
    return points


def photo_size(path: Path) -> tuple[int, int]:
    """``(width, height)`` of a photo as shown (EXIF orientation applied)."""
    return read_photo(path).size


def load_hints_file(
    path: str | Path,
    photos: Mapping[str, Path],
    size_of: Callable[[Path], tuple[int, int]] = photo_size,
) -> dict[Path, list[HintPoint]]:
    """Read and check an ``infer --hints`` JSON file before any photo is colorized.

    ``photos`` maps each photo's key (its path relative to ``--in`` with ``/``, or its name) to its file. Returns
    the points of every photo the file names (keyed by the photo's file). Raises :class:`HintError` naming the file,
    the photo, the point and the problem.
    """
    path = Path(path)
    try:
        tree = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise HintError(f"hints file {path}: cannot be read ({exc.strerror or exc})") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HintError(f"hints file {path}: not valid JSON ({exc})") from None
    if not isinstance(tree, dict):
        kind = type(tree).__name__
        raise HintError(f'hints file {path}: expected an object like {{"photo.jpg": [points]}}, got {kind}')
    result: dict[Path, list[HintPoint]] = {}
    for key, items in tree.items():
        where = f"hints file {path}: photo {key!r}"
        src = photos.get(key.replace("\\", "/").removeprefix("./"))
        if src is None:
            close = difflib.get_close_matches(key, list(photos), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise HintError(f"{where}: no such photo among the inputs{hint}; keys are paths relative to --in")
        try:
            width, height = size_of(src)
        except ImageReadError as exc:
            raise HintError(f"{where}: cannot read the photo to check the points ({exc.reason})") from None
        result[src] = parse_points(items, where, width, height)
    return result


def hint_map(points: Sequence[HintPoint], width: int, height: int, size: int) -> np.ndarray:
    """The hint map ``(3, size, size)`` float32 of ``points`` on a ``width x height`` photo, at the model's size.

    A point's pixel maps to the model pixel that covers it (the photo is resized to ``size x size`` for the model);
    its square of ``point.size`` (default :data:`DEFAULT_HINT_SIZE`) model pixels is centred there.
    """
    patches = []
    for point in points:
        a, b = color_ab(point.color)
        side = min(point.size or DEFAULT_HINT_SIZE, size)
        cx = min(int(point.x * size / width), size - 1)
        cy = min(int(point.y * size / height), size - 1)
        x0, y0 = place(cx, cy, side, size, size)
        patches.append(Patch(x0, y0, side, a, b))
    return paint(patches, size, size)


def hint_batch(
    hints: Sequence[Sequence[HintPoint] | None] | None,
    sizes: Sequence[tuple[int, int]],
    model_size: int,
    follows_hints: bool,
) -> np.ndarray | None:
    """Hint maps ``(B, 3, size, size)`` for photos of ``sizes`` (``(width, height)`` each), or None when there are
    no hints at all. ``hints``: one list of points (or None) per photo; ``follows_hints``: whether the model can
    use them (:attr:`~unet_resnet.inference.colorizer.Colorizer.follows_hints`)."""
    if hints is None or not any(hints):
        return None
    if len(hints) != len(sizes):
        raise HintError(f"hints: got {len(hints)} lists of points for {len(sizes)} photos; give one per photo")
    if not follows_hints:
        raise HintError(NO_HINTS)
    maps = []
    for i, (points, (width, height)) in enumerate(zip(hints, sizes, strict=True)):
        checked = parse_points(list(points or []), f"photo {i}", width, height)
        maps.append(hint_map(checked, width, height, model_size))
    return np.stack(maps)
