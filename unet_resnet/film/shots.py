"""The frames of a film for a person to colour: the first frame of every shot (and, in long shots, one every few
seconds), as gray images shown upright, plus a contact sheet of them.

Shots are found as the film path finds them (:class:`~unet_resnet.film.temporal.MotionTracker` on L at the
model's size), so each written frame starts a shot that ``infer --keyframes`` carries it through. The frames are
named as keyframes are read back (:func:`~unet_resnet.film.keyframes.keyframe_name`). The film streams
through: only the current frame, the previous one's small L and the contact sheet's thumbnails are held.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from unet_resnet.film.temporal import MotionTracker, TemporalSettings
from unet_resnet.film.video import VideoError, VideoInfo, load_av, open_input, probe
from unet_resnet.inference.colorizer import lightness

log = logging.getLogger(__name__)

THUMB_WIDTH = 192
SHEET_COLUMNS = 5


@dataclass
class ShotFrame:
    """A frame to colour: its 0-based number, whether it starts a shot, and its pixels (gray uint8, upright)."""

    number: int
    shot_start: bool
    gray: np.ndarray


def decode_upright(path: str | Path, info: VideoInfo) -> Iterator[np.ndarray]:
    """The film's frames in display order as BGR uint8, turned as a player shows them."""
    av = load_av()
    container = open_input(Path(path))
    k = (info.rotation // 90) % 4
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            for frame in container.decode(stream):
                yield np.ascontiguousarray(np.rot90(frame.to_ndarray(format="bgr24"), k))
        except av.error.FFmpegError as exc:
            log.warning("%s: decoding stopped (%s); the frames before it are used", path, exc.strerror or exc)
    finally:
        container.close()


def shot_frames(
    path: str | Path,
    size: int = 256,
    every: float | None = None,
    info: VideoInfo | None = None,
    settings: TemporalSettings | None = None,
) -> Iterator[ShotFrame]:
    """The first frame of every shot of the film ``path`` and, with ``every`` seconds, one more each time that
    long has passed in a shot since the last one given. ``size``: the model's render size (shots are found at it).
    Raises :class:`~unet_resnet.film.video.VideoError`."""
    info = info or probe(path)
    if every is not None and every <= 0:
        raise ValueError(f"every must be a positive number of seconds, got {every}")
    rate = float(info.rate) if info.rate else 25.0
    step = max(1, round(every * rate)) if every else None
    tracker = MotionTracker(settings)
    last = 0
    for number, bgr in enumerate(decode_upright(path, info)):
        motion = tracker(lightness(bgr, size, "bgr"))
        start = motion is None or motion.cut
        if start or (step is not None and number - last >= step):
            last = number
            yield ShotFrame(number, start, cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY))


@dataclass
class ContactSheet:
    """Thumbnails of the frames given to colour, labelled with their numbers, laid out in a grid."""

    width: int = THUMB_WIDTH
    columns: int = SHEET_COLUMNS
    thumbs: list[np.ndarray] = field(default_factory=list)

    def add(self, frame: ShotFrame) -> None:
        h, w = frame.gray.shape[:2]
        height = max(1, round(h * self.width / w))
        thumb = cv2.cvtColor(
            cv2.resize(frame.gray, (self.width, height), interpolation=cv2.INTER_AREA), cv2.COLOR_GRAY2BGR
        )
        label = f"{frame.number:06d}" + ("" if frame.shot_start else " (in shot)")
        cv2.rectangle(thumb, (0, 0), (min(self.width, 12 + 9 * len(label)), 18), (0, 0, 0), -1)
        cv2.putText(thumb, label, (4, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
        self.thumbs.append(thumb)

    def image(self) -> np.ndarray:
        """The sheet, BGR uint8; raises ``ValueError`` when empty."""
        if not self.thumbs:
            raise ValueError("a contact sheet needs at least one frame")
        height = max(t.shape[0] for t in self.thumbs)
        gap = 4
        rows = (len(self.thumbs) + self.columns - 1) // self.columns
        columns = min(self.columns, len(self.thumbs))
        sheet = np.full((rows * (height + gap) + gap, columns * (self.width + gap) + gap, 3), 255, np.uint8)
        for i, thumb in enumerate(self.thumbs):
            y, x = gap + (i // self.columns) * (height + gap), gap + (i % self.columns) * (self.width + gap)
            sheet[y : y + thumb.shape[0], x : x + self.width] = thumb
        return sheet


def write_shot_frames(
    path: str | Path,
    out: str | Path,
    size: int = 256,
    every: float | None = None,
    on_frame: Callable[[ShotFrame], object] | None = None,
) -> list[ShotFrame]:
    """Write the film's frames to colour into the folder ``out`` (``000120.png``, gray) and the contact sheet
    (:data:`~unet_resnet.film.keyframes.CONTACT_SHEET`). Returns the frames written (their pixels
    dropped). The caller checks that nothing in ``out`` would be replaced."""
    from unet_resnet.film.keyframes import CONTACT_SHEET, keyframe_name

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sheet = ContactSheet()
    written = []
    for frame in shot_frames(path, size, every):
        target = out / keyframe_name(frame.number)
        if not cv2.imwrite(str(target), frame.gray):
            raise OSError(f"{target}: cannot be written")
        sheet.add(frame)
        written.append(ShotFrame(frame.number, frame.shot_start, np.empty((0, 0), np.uint8)))
        if on_frame is not None:
            on_frame(frame)
    if not written:
        raise VideoError(path, "no frame could be decoded")
    cv2.imwrite(str(out / CONTACT_SHEET), sheet.image(), [cv2.IMWRITE_JPEG_QUALITY, 90])
    return written
