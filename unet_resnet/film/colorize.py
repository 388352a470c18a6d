"""Colorizing films: the photo colorizer applied frame by frame through :mod:`video`, steadied by :mod:`temporal`.

Frames are batched for the model like photos; L comes from each full-resolution frame as for photos, ab from the
model at its size. The model sees each frame upright (the display matrix's rotation applied to its small L input)
and its output is turned back, so the frames are written as stored, with the input's rotation tag.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from unet_resnet.film.carry import FrameRecord, KeyframeCarrier
from unet_resnet.film.keyframes import Keyframes, film_keyframes
from unet_resnet.film.temporal import MotionTracker, TemporalSettings, TemporalSmoother
from unet_resnet.film.transcode import TranscodeResult, transcode
from unet_resnet.film.video import (
    DEFAULT_QUALITY,
    FrameFunction,
    VideoError,
    VideoInfo,
    is_video_file,
    list_videos,
    probe,
)
from unet_resnet.inference.colorizer import Colorizer

log = logging.getLogger(__name__)

FRAME_BUDGET = 1 << 29
"""Bytes of decoded frames batched for one model call (at least one frame, however large)."""


@dataclass
class FilmOptions:
    temporal: bool = True
    """Steady colours along the motion (False: each frame on its own)."""
    batch_size: int = 8
    quality: int = DEFAULT_QUALITY
    settings: TemporalSettings = field(default_factory=TemporalSettings)


@dataclass
class FilmResult:
    info: VideoInfo
    written: TranscodeResult
    cuts: int
    """Scene cuts the temporal path restarted at."""
    keyframes: int = 0
    """Keyframes carried through their shots."""


def colorize_frames(
    model: Colorizer,
    frames: Iterable[np.ndarray],
    rotation: int = 0,
    smoother: TemporalSmoother | None = None,
    batch_size: int = 8,
    carrier: KeyframeCarrier | None = None,
    tracker: MotionTracker | None = None,
) -> Iterator[np.ndarray]:
    """Colorized frames, one per input frame and in order (each in place in its own buffer when possible).

    ``frames``: ``(H, W, 3)`` BGR uint8 or uint16 as stored; ``rotation``: degrees counter-clockwise a player turns
    them (a multiple of 90). With ``smoother``, each frame's ab is blended along the motion with the previous one's.
    With ``carrier`` (:mod:`~unet_resnet.film.carry`), keyframe colours are carried through their shots; the
    motion comes from ``tracker`` (default: the smoother's, or a new one). A frame may then wait until a later
    keyframe of its shot is seen (at most the frames of one shot). Up to ``batch_size`` frames (fewer when large:
    :data:`FRAME_BUDGET`) go into one model call.
    """
    k = (rotation // 90) % 4
    if carrier is not None and tracker is None:
        tracker = smoother.tracker if smoother is not None else MotionTracker(carrier.settings)
    index = 0
    batch: list[np.ndarray] = []
    for pixels in frames:
        batch.append(pixels)
        if len(batch) >= min(batch_size, max(1, FRAME_BUDGET // max(1, pixels.nbytes))):
            yield from _colorize_batch(model, batch, k, smoother, index, carrier, tracker)
            index += len(batch)
            batch = []
    if batch:
        yield from _colorize_batch(model, batch, k, smoother, index, carrier, tracker)
    if carrier is not None:
        for record in carrier.finish():
            yield _render(model, record, k)


def _render(model: Colorizer, record: FrameRecord, k: int) -> np.ndarray:
    """A frame that left the carrier, rendered at full resolution with its final ab (turned back as stored)."""
    assert isinstance(record.payload, tuple)
    pixels, y = record.payload
    y[-2:] = record.ab
    y = np.ascontiguousarray(np.rot90(y, -k, axes=(1, 2)))
    return model.finish(pixels, y, out=pixels if pixels.flags.writeable else None)


def _colorize_batch(
    model: Colorizer,
    batch: list[np.ndarray],
    k: int,
    smoother: TemporalSmoother | None,
    index: int = 0,
    carrier: KeyframeCarrier | None = None,
    tracker: MotionTracker | None = None,
) -> Iterator[np.ndarray]:
    upright = np.stack([np.rot90(model.prepare(p), k) for p in batch])
    predicted = model.predict(upright)
    for i, (pixels, L, y) in enumerate(zip(batch, upright, predicted, strict=True)):
        if carrier is not None and tracker is not None:
            motion = tracker(L)
            ab = smoother.blend(y[-2:], motion) if smoother is not None else y[-2:]
            record = FrameRecord(index + i, L, np.asarray(ab, np.float32), motion, (pixels, y))
            for ready in carrier.push(record):
                yield _render(model, ready, k)
            continue
        if smoother is not None:
            y[-2:] = smoother(L, y[-2:])
        y = np.ascontiguousarray(np.rot90(y, -k, axes=(1, 2)))
        yield model.finish(pixels, y, out=pixels if pixels.flags.writeable else None)


def colorize_video(
    model: Colorizer,
    src: str | Path,
    dst: str | Path,
    options: FilmOptions | None = None,
    on_frame: Callable[[], object] | None = None,
    info: VideoInfo | None = None,
    keyframes: Keyframes | Mapping[int, np.ndarray] | str | Path | None = None,
) -> FilmResult:
    """Colorize the film ``src`` into ``dst`` (written atomically); raises :class:`.VideoError`.

    ``keyframes``: frames a person coloured, carried through their shots: a mapping frame number (0-based) ->
    uint8 RGB image of that frame as shown, a folder of images named by frame number
    (:mod:`~unet_resnet.film.keyframes`), or :func:`~unet_resnet.film.keyframes.film_keyframes`' result. They
    are checked before any work (``KeyframeError``).
    A film whose decoding stops early (a truncated file) is written up to there; ``written.problem`` says why.
    """
    options = options or FilmOptions()
    info = info or probe(src)
    carrier = None
    if keyframes is not None:
        if not isinstance(keyframes, Keyframes):
            keyframes = film_keyframes(src, keyframes, model.size, info)
        if keyframes.size != model.size:
            raise ValueError(f"keyframes prepared for size {keyframes.size}, but the model renders at {model.size}")
        carrier = KeyframeCarrier(keyframes.ab, options.settings) if keyframes.ab else None
    smoother = TemporalSmoother(options.settings) if options.temporal else None
    tracker = MotionTracker(options.settings) if carrier is not None and smoother is None else None

    def process(frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        return colorize_frames(model, frames, info.rotation, smoother, options.batch_size, carrier, tracker)

    function: FrameFunction = process
    written = transcode(src, dst, function, options.quality, on_frame, info)
    cuts = smoother.cuts if smoother else tracker.cuts if tracker else 0
    return FilmResult(info, written, cuts, len(carrier.keyframes) if carrier else 0)


# ----------------------------------------------------------------------------------------------------- planning
@dataclass
class FilmPlan:
    jobs: list[tuple[Path, Path]] = field(default_factory=list)
    """``(film, output)`` to colorize."""
    skipped: int = 0
    """Films whose output exists (kept unless ``overwrite``)."""


def plan_films(inp: Path, out: Path, recursive: bool = True, overwrite: bool = False) -> FilmPlan:
    """The films of ``--in`` (a video file, or the videos of a folder) and their outputs.

    A video file goes to ``--out`` when that names a video file, else into the folder ``--out``; a folder's videos
    keep their names and sub-folders under ``--out``. Every output keeps its input's container. Raises
    ``ValueError`` for an output that would replace its own input.
    """
    if inp.is_file():
        if not is_video_file(inp):
            return FilmPlan()
        pairs = [(inp, out if is_video_file(out) and not out.is_dir() else out / inp.name)]
    elif inp.is_dir():
        pairs = [(src, out / src.relative_to(inp)) for src in list_videos(inp, recursive)]
    else:
        return FilmPlan()
    plan = FilmPlan()
    for src, dst in pairs:
        if os.path.normcase(dst.resolve()) == os.path.normcase(src.resolve()):
            raise ValueError(f"--out {out} would replace the film {src} itself; choose another output")
        if dst.exists() and not overwrite:
            plan.skipped += 1
        else:
            plan.jobs.append((src, dst))
    return plan


# ------------------------------------------------------------------------------------------------------ the loop
@dataclass
class FilmSummary:
    """What :func:`colorize_films` did: films written whole, films failed (unreadable or cut short), frames
    written, seconds, and whether Ctrl-C stopped it."""

    done: int = 0
    failed: int = 0
    frames: int = 0
    seconds: float = 0.0
    interrupted: bool = False


class FilmProgress:
    """How :func:`colorize_films` reports progress: the caller (``cli/``) overrides these to draw a bar per film and
    print failures; this base reports failures to the log and ignores the rest."""

    def start(self, src: Path, frames: int | None) -> None:
        """A film begins; ``frames``: its frame count, estimated from its duration where not stored (or None)."""

    def frame(self) -> None:
        """One more frame of the current film was written."""

    def end(self) -> None:
        """The current film is over (written, failed or interrupted)."""

    def failed(self, src: Path, reason: str) -> None:
        """``src`` could not be colorized, or only up to ``reason``'s point."""
        log.warning("failed: %s: %s", src, reason)


def colorize_films(
    model: Colorizer,
    plan: FilmPlan,
    options: FilmOptions,
    progress: FilmProgress | None = None,
    keyframes: Mapping[Path, Keyframes] | None = None,
) -> FilmSummary:
    """Colorize ``plan``'s films one after the other (each streams through in frames), each with its
    ``keyframes`` if any (:func:`~unet_resnet.film.keyframes.plan_keyframes`).

    A film that cannot be read is reported through ``progress.failed`` and counted as failed; a film cut short
    (truncated, damaged) is written up to where it decodes, reported with the reason, and counted as failed too.
    Ctrl-C stops at once (``interrupted``), leaving no partial output file.
    """
    progress = progress or FilmProgress()
    summary = FilmSummary()
    start = time.perf_counter()
    for src, dst in plan.jobs:
        try:
            info = probe(src)
        except VideoError as exc:
            summary.failed += 1
            progress.failed(src, exc.reason)
            continue
        total = info.frames or (round(info.duration * float(info.rate)) if info.duration and info.rate else None)
        progress.start(src, total)
        try:
            keys = (keyframes or {}).get(src)
            result = colorize_video(model, src, dst, options, on_frame=progress.frame, info=info, keyframes=keys)
        except VideoError as exc:
            summary.failed += 1
            progress.end()
            progress.failed(src, exc.reason)
            continue
        except KeyboardInterrupt:
            summary.interrupted = True
            progress.end()
            break
        progress.end()
        summary.frames += result.written.frames
        cuts = f", {result.cuts} scene cut(s)" if options.temporal or result.keyframes else ""
        cuts += f", {result.keyframes} keyframe(s)" if result.keyframes else ""
        log.info("%s: %d frames, sound %s%s -> %s", src, result.written.frames, result.written.audio, cuts, dst)
        if result.written.problem:
            summary.failed += 1
            progress.failed(
                src,
                f"{result.written.problem}; the {result.written.frames} frames before it were colorized into {dst}",
            )
        else:
            summary.done += 1
    summary.seconds = time.perf_counter() - start
    return summary
