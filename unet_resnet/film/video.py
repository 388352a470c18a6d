"""Videos through PyAV (FFmpeg's libraries): which files are films, opening them, and what their header says.

Reading and writing whole films is :mod:`unet_resnet.film.transcode`. PyAV is an optional dependency
(``pip install 'unet_resnet[video]'``); it is imported when a video is first opened.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".avi", ".webm")
DEFAULT_QUALITY = 18
"""The encoder's constant-quality setting (x264 / VP9 CRF): 0 is lossless, 18 looks like the input, 51 is worst."""
MAX_PIXELS = 8192 * 8192
"""Frames larger than this are refused before decoding (H.264's largest level stops at 8192x4320)."""

FrameFunction = Callable[[Iterable[np.ndarray]], Iterator[np.ndarray]]
"""Takes frames in display order and yields exactly one processed frame (same shape and dtype) for each, in order."""


class VideoError(Exception):
    """A video that cannot be read or written; ``str()`` names the file and the problem."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = Path(path), reason


def load_av() -> Any:
    try:
        import av
    except ImportError:  # pragma: no cover - the [video] extra is part of the test install
        raise VideoError("PyAV", "videos need PyAV: pip install 'unet_resnet[video]' (or pip install av)") from None
    av.logging.set_level(av.logging.FATAL)  # we report bad files ourselves, once
    return av


def is_video_file(path: str | Path) -> bool:
    """Whether ``path`` has one of :data:`VIDEO_SUFFIXES` (case-insensitive)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def list_videos(root: str | Path, recursive: bool = True) -> list[Path]:
    """Video files under ``root`` (by extension), sorted; hidden files and folders are ignored."""
    root = Path(root)
    found = root.rglob("*") if recursive else root.glob("*")
    return sorted(
        p for p in found if is_video_file(p) and not any(s.startswith(".") for s in p.relative_to(root).parts)
    )


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe` learns from a video's header and first frame."""

    width: int
    height: int
    frames: int
    """Frame count written in the header; 0 when the container does not say (Matroska, WebM)."""
    rate: Fraction | None
    duration: float | None
    """Seconds, from the header."""
    deep: bool
    """More than 8 bits per sample (10-bit and 12-bit video): decoded to uint16."""
    rotation: int
    """Degrees counter-clockwise that a player turns the frames (the display matrix), a multiple of 90."""
    display_matrix: tuple[int, ...] | None = None
    audio: tuple[str, ...] = field(default_factory=tuple)


def _display_matrix(frame: Any) -> tuple[int, ...] | None:
    for data in frame.side_data:
        if getattr(data.type, "name", "") == "DISPLAYMATRIX":
            raw = bytes(data)
            return tuple(int(v) for v in np.frombuffer(raw[:36], dtype="<i4"))
    return None


def open_input(path: Path) -> Any:
    av = load_av()
    if not path.is_file():
        raise VideoError(path, "does not exist or is not a file")
    try:
        container = av.open(str(path), "r")
    except av.error.FFmpegError as exc:
        raise VideoError(path, f"cannot be opened as a video ({exc.strerror or exc}); is the file complete?") from None
    if not container.streams.video:
        container.close()
        raise VideoError(path, "has no video stream (an audio-only or data file?); nothing to colorize")
    return container


def probe(path: str | Path) -> VideoInfo:
    """Size, frame count, rate, depth, rotation and audio of a video; raises :class:`VideoError`."""
    path = Path(path)
    av = load_av()
    container = open_input(path)
    try:
        stream = container.streams.video[0]
        try:
            first = next(container.decode(stream), None)
        except av.error.FFmpegError as exc:
            raise VideoError(path, f"its first frame cannot be decoded ({exc.strerror or exc})") from None
        if first is None:
            raise VideoError(path, "has a video stream but no frame decodes from it (empty or damaged file)")
        duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else None
        if duration is None and container.duration:
            duration = container.duration / 1_000_000
        bits = max(c.bits for c in first.format.components)
        return VideoInfo(
            width=first.width,
            height=first.height,
            frames=int(stream.frames or 0),
            rate=stream.average_rate or stream.guessed_rate,
            duration=duration,
            deep=bits > 8,
            rotation=int(round(first.rotation / 90.0)) * 90 % 360,
            display_matrix=_display_matrix(first),
            audio=tuple(a.codec_context.name for a in container.streams.audio),
        )
    finally:
        container.close()


def count_frames(path: str | Path, info: VideoInfo | None = None) -> int:
    """The film's frame count: its header's, or (Matroska, WebM: none there) its video packets counted without
    decoding them."""
    info = info or probe(path)
    if info.frames:
        return info.frames
    av = load_av()
    container = open_input(Path(path))
    try:
        return sum(1 for p in container.demux(container.streams.video[0]) if p.size)
    except av.error.FFmpegError:
        return 0  # unreadable further on: the count stays unknown
    finally:
        container.close()
