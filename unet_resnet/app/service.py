"""What the app's requests work on: checked uploads, the one shared model, and the photos the page is editing.

Nothing here knows HTTP beyond :class:`RequestError`'s status code: the server turns it into a response. Uploads
are checked from their header before they are decoded (kind, declared pixels, a missing end), so a decompression
bomb costs nothing. The model is shared by all requests behind one lock; decoding and encoding run outside it.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from unet_resnet.app.headers import KINDS, HeaderError, looks_truncated, read_header
from unet_resnet.data.imageio import ImageReadError, Photo, cut_short, encode_photo, read_photo, to_uint8
from unet_resnet.hints.points import HintError, HintPoint, hint_batch, parse_points
from unet_resnet.inference.colorizer import Colorizer
from unet_resnet.inference.preview import fit_within, gray_preview

PREVIEW_SIDE = 1280
"""Long side of the pictures the page shows while editing (the download is always at full resolution)."""
FORMATS = {"png": ".png", "jpg": ".jpg", "jpeg": ".jpg", "webp": ".webp", "tif": ".tif", "tiff": ".tif", "bmp": ".bmp"}
MEDIA_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".webp": "image/webp",
    ".tif": "image/tiff",
    ".bmp": "image/bmp",
}
SIZE_RANGE = (32, 2048)
"""Render sizes a request may ask for."""


class RequestError(Exception):
    """A request that cannot be served: an HTTP status and a message a person can act on."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Limits:
    """What one upload may be: bytes on the wire, and pixels its header declares."""

    max_bytes: int = 50_000_000
    max_pixels: int = 100_000_000


def too_large(what: str, max_bytes: int) -> str:
    """The message of a refused upload (413)."""
    return (
        f"{what} is more than the upload limit of {max_bytes / 1e6:.3g} MB; send a smaller file or start the app "
        "with a larger --max-upload-mb"
    )


def decode_upload(data: bytes, name: str, limits: Limits) -> tuple[Photo, str]:
    """An uploaded file's bytes -> the decoded photo and its kind (a key of ``KINDS``), or :class:`RequestError`.

    413 for too many bytes; 415 for a file that is not a JPEG, PNG, TIFF, WebP or BMP; 422 for a header that declares
    more than ``limits.max_pixels`` (checked before decoding), a truncated or undecodable file.
    """
    if len(data) > limits.max_bytes:
        raise RequestError(413, too_large(f"{name} ({len(data) / 1e6:.3g} MB)", limits.max_bytes))
    if not data:
        raise RequestError(422, f"{name} is empty (0 bytes)")
    try:
        header = read_header(data)
    except HeaderError as exc:
        raise RequestError(422, f"{name} cannot be read: {exc} (the file is damaged or cut short)") from None
    if header is None:
        raise RequestError(415, f"{name} is not a photo: expected a JPEG, PNG, TIFF, WebP or BMP file")
    if header.pixels > limits.max_pixels:
        raise RequestError(
            422,
            f"{name} declares {header.width}x{header.height} pixels ({header.pixels / 1e6:.0f} megapixels), more than "
            f"the limit of {limits.max_pixels / 1e6:.3g} megapixels; shrink it first or start the app with a larger "
            "--max-megapixels",
        )
    if looks_truncated(data, header.kind):
        raise RequestError(422, f"{name}: {cut_short(header.kind)}")
    try:
        photo = read_photo(name, np.frombuffer(data, np.uint8))
    except ImageReadError as exc:
        raise RequestError(422, str(exc)) from None
    except (MemoryError, cv2.error) as exc:
        raise RequestError(422, f"{name} cannot be decoded ({type(exc).__name__})") from None
    return photo, header.kind


def output_suffix(fmt: str | None, kind: str) -> str:
    """The suffix of a result: ``fmt`` (png, jpg, webp, tif, bmp) or, when None, the upload's own kind."""
    if fmt is None or fmt == "":
        return KINDS[kind]
    suffix = FORMATS.get(fmt.lower())
    if suffix is None:
        raise RequestError(422, f"format {fmt!r} is not supported; use one of {', '.join(sorted(set(FORMATS)))}")
    return suffix


def check_quality(quality: int) -> int:
    if not 1 <= quality <= 100:
        raise RequestError(422, f"quality must be between 1 and 100, got {quality}")
    return quality


def hint_items(text: str | None) -> list[dict[str, Any]]:
    """The ``hints`` form field (a JSON list of ``{"x", "y", "color"}``) -> the list; 422 when it is not one."""
    if text is None or not text.strip():
        return []
    try:
        items = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RequestError(422, f"hints is not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(items, list):
        raise RequestError(
            422, f'hints must be a JSON list of {{"x", "y", "color"}} objects, got {type(items).__name__}'
        )
    return items


class ColorService:
    """The loaded model, shared by every request: one forward pass at a time (a lock), variants by size and restore."""

    def __init__(self, model: Colorizer, name: str = "") -> None:
        self.model = model
        self.name = name
        self._lock = threading.Lock()
        self._variants: dict[tuple[int, bool], Colorizer] = {(model.size, model.restore): model}

    @property
    def restores(self) -> bool:
        return self.model.restores

    @property
    def takes_hints(self) -> bool:
        """Whether hint mode is on: the model takes hints, or they are spread over its output."""
        return self.model.follows_hints

    def hints_off_reason(self) -> str | None:
        """Why hint mode is off for this model, or None when it is on."""
        if self.takes_hints:
            return None
        return (
            "this model was trained without colour hints and hint spreading is off (start the app with "
            "--hint-spread above 0, or train a model with model.hints: true)"
        )

    def variant(self, size: int | None, restore: bool) -> Colorizer:
        """The model at render ``size`` (None: its own) with or without restoration; 422 for what it cannot do."""
        size = self.model.size if size is None else size
        if not SIZE_RANGE[0] <= size <= SIZE_RANGE[1]:
            raise RequestError(422, f"size must be between {SIZE_RANGE[0]} and {SIZE_RANGE[1]}, got {size}")
        if restore and not self.restores:
            raise RequestError(
                422, "restore needs a restoration model (trained with restore.enabled: true); this one only colorizes"
            )
        with self._lock:
            found = self._variants.get((size, restore))
            if found is None:  # a shallow copy shares the network: only the render size and the switch differ
                found = copy.copy(self.model)
                found.size, found.restore = size, restore
                self._variants[(size, restore)] = found
        return found

    def check_hints(self, items: Sequence[Any], where: str, width: int, height: int) -> list[HintPoint] | None:
        """Checked hints of one ``width x height`` photo (None when there are none); 422 naming the point and the
        problem, or when the model takes no hints."""
        if not items:
            return None
        if not self.takes_hints:
            raise RequestError(422, f"{where}: {self.hints_off_reason()}; send the photo without hints")
        try:
            return parse_points(list(items), where, width, height)
        except HintError as exc:
            raise RequestError(422, str(exc)) from None

    def predict(
        self, model: Colorizer, L_small: np.ndarray, points: list[HintPoint] | None, size: tuple[int, int]
    ) -> np.ndarray:
        """The model's output ``(C, s, s)`` for one photo's L/100 at render size; ``points`` in the pixels of the
        photo of ``size`` (width, height). Only the forward pass holds the lock."""
        try:
            # as colorize_photos
            maps = hint_batch([points], [size], model.size, model.follows_hints) if points else None
        except HintError as exc:
            raise RequestError(422, str(exc)) from None
        with self._lock:
            return model.predict(L_small[None], maps)[0]

    def colorize(
        self, photo: Photo, points: list[HintPoint] | None, size: int | None = None, restore: bool = False
    ) -> Any:
        """The photo colorized exactly as ``infer.py`` writes it (same size, depth and alpha)."""
        model = self.variant(size, restore)
        return model.finish(photo.pixels, self.predict(model, model.prepare(photo.pixels), points, photo.size))

    def colorize_held(self, held: HeldPhoto, points: list[HintPoint] | None, restore: bool, full: bool) -> Any:
        """A held photo colorized at full size (``full``) or its preview with the same model output (the model
        input is always made from the full photo, so the preview shows the colours the download will have)."""
        model = self.variant(None, restore)
        predicted = self.predict(model, held.lightness(model), points, held.photo.size)
        return model.finish((held.photo if full else held.preview).pixels, predicted)


def encode_preview(pixels: np.ndarray) -> bytes:
    """8-bit PNG of a picture for the page (fast compression: previews are made at every hint change)."""
    colour = pixels if pixels.ndim == 2 else pixels[..., :3]
    ok, data = cv2.imencode(".png", np.ascontiguousarray(to_uint8(colour)), [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise RequestError(500, "the preview could not be encoded")
    return data.tobytes()


def encode_result(pixels: np.ndarray, suffix: str, quality: int) -> bytes:
    """A full-resolution result as ``infer.py`` writes a file with ``suffix``."""
    return encode_photo(pixels, suffix, quality)


@dataclass
class HeldPhoto:
    """A photo the page is editing: the decoded original, its preview-sized copy and the gray picture."""

    name: str
    kind: str
    photo: Photo
    preview: Photo
    before_png: bytes
    used: float
    _lightness: dict[int, np.ndarray] = dataclasses.field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        return self.photo.pixels.nbytes + self.preview.pixels.nbytes + len(self.before_png)

    def lightness(self, model: Colorizer) -> np.ndarray:
        """The model's input for the full photo at ``model.size`` (made once per size)."""
        found = self._lightness.get(model.size)
        if found is None:
            found = self._lightness[model.size] = model.prepare(self.photo.pixels)
        return found


class PhotoStore:
    """Photos held in memory for the page, least recently used first out beyond ``max_bytes`` (the newest stays)."""

    def __init__(self, max_bytes: int = 2 << 30) -> None:
        self.max_bytes = max_bytes
        self._photos: OrderedDict[str, HeldPhoto] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, name: str, kind: str, photo: Photo) -> tuple[str, HeldPhoto]:
        small = fit_within(photo.pixels, PREVIEW_SIDE)
        before = encode_preview(gray_preview(small, PREVIEW_SIDE))
        held = HeldPhoto(name, kind, photo, Photo(small), before, time.monotonic())
        key = secrets.token_urlsafe(12)
        with self._lock:
            self._photos[key] = held
            total = sum(h.nbytes for h in self._photos.values())
            while total > self.max_bytes and len(self._photos) > 1:
                _, old = self._photos.popitem(last=False)
                total -= old.nbytes
        return key, held

    def get(self, key: str) -> HeldPhoto:
        with self._lock:
            held = self._photos.get(key)
            if held is None:
                raise RequestError(404, f"photo {key} is not held by the app any more; open the photo again")
            self._photos.move_to_end(key)
            held.used = time.monotonic()
            return held

    def remove(self, key: str) -> bool:
        with self._lock:
            return self._photos.pop(key, None) is not None

    def __len__(self) -> int:
        return len(self._photos)
