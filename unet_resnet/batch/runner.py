"""One ``infer`` run over many photos, behind one object: plan -> this rank's share -> run -> manifest -> summary.

``unet-resnet infer`` builds a :class:`BatchRun` from its options and calls :meth:`BatchRun.start` (join the
process group under torchrun, plan, load the model, attach hints, take this rank's share: everything that can fail
fails here, before any photo is written), then :meth:`BatchRun.run` (colorize the share, write the manifest rows,
sum the counts over ranks) and :meth:`BatchRun.close`. Progress goes to the ``on_done`` / ``on_fail`` callbacks,
so the command draws the bar. Films are planned by :mod:`unet_resnet.film.colorize`; a film given as ``--in``
leaves the photo plan empty.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from unet_resnet.batch.manifest import manifest_format
from unet_resnet.batch.pipeline import Options, Summary, Written
from unet_resnet.batch.plan import Job, Plan, attach_hints, make_plan
from unet_resnet.batch.ranks import GROUP_TIMEOUT_MIN, default_workers, run_share, start_share
from unet_resnet.film.video import is_video_file
from unet_resnet.inference.colorizer import Colorizer
from unet_resnet.models.default_model import default_checkpoint
from unet_resnet.runtime.distributed import DistInfo, barrier, cleanup, init_distributed

log = logging.getLogger(__name__)


@dataclass
class BatchSettings:
    """What ``infer`` was asked: the paths, the model and how to run it (``None``: the default)."""

    inp: Path
    out: Path
    ckpt: str | Path | None = None
    """Checkpoint or exported generator (``None``: the demo's model, runs/demo/best.pt)."""
    device: str = "auto"
    precision: str = "fp32"
    size: int | None = None
    restore: bool = False
    hint_spread: float | None = None
    """How far colour hints spread, in image sides (``None``: the colorizer's default)."""
    hints: Path | None = None
    """JSON file of colour hints per photo (paths relative to ``inp``)."""
    fmt: str | None = None
    compare: bool = False
    recursive: bool = True
    overwrite: bool = False
    manifest: Path | None = None
    batch_size: int = 8
    workers: int | None = None
    """Decode/encode threads (``None``: this machine's CPUs shared among its torchrun processes)."""
    jpeg_quality: int = 95


class BatchRun:
    """One process's part of an ``infer`` run (all of it without torchrun). Attributes are set by :meth:`start`:
    ``info`` (rank, world size, device), ``model``, ``plan`` (every rank's photos) and ``share`` (this rank's)."""

    info: DistInfo
    model: Colorizer
    ckpt: str | Path
    """The model's file: ``settings.ckpt``, or the default (:mod:`unet_resnet.models.default_model`)."""
    plan: Plan
    share: Plan

    def __init__(self, settings: BatchSettings) -> None:
        self.settings = settings

    def start(self) -> None:
        """Join the process group (under torchrun), plan, load the model, attach hints, take this rank's share.

        Raises ``UsageError`` / ``ValueError`` (paths, options, hints), ``CheckpointError``, ``OSError`` or
        ``RuntimeError`` (ranks that disagree) before any photo is written. A collective under torchrun.
        """
        s = self.settings
        if s.manifest is not None:
            manifest_format(s.manifest)
        self.info = init_distributed(s.device, GROUP_TIMEOUT_MIN)  # one process (rank 0 of 1) without torchrun
        film_file = s.inp.is_file() and is_video_file(s.inp)
        self.plan = Plan() if film_file else make_plan(s.inp, s.out, s.fmt, s.compare, s.recursive, s.overwrite)
        self.ckpt = s.ckpt or default_checkpoint()
        self.model = Colorizer.load(
            self.ckpt, str(self.info.device), s.precision, s.size, restore=s.restore, hint_spread=s.hint_spread
        )
        if s.hints is not None:
            self.plan.jobs = attach_hints(self.plan.jobs, s.hints, s.inp, s.recursive, self.model.follows_hints)
        self.share = start_share(self.plan, self.info, s.manifest)  # no rank writes before all have planned

    @property
    def total(self) -> int:
        """Photos this rank will report through ``on_done`` / ``on_fail`` (its share and its conflicts)."""
        return len(self.share.jobs) + len(self.share.conflicts)

    def run(
        self,
        on_done: Callable[[Job, Written], None] | None = None,
        on_fail: Callable[[Path, str], None] | None = None,
    ) -> Summary:
        """Colorize this rank's share, one manifest row per photo; the counts of the whole run (summed over ranks,
        a collective unless interrupted by Ctrl-C or SIGTERM, which leaves this rank's counts)."""
        s = self.settings
        options = Options(s.batch_size, s.workers or default_workers(), s.jpeg_quality)
        return run_share(self.share, self.model, options, self.info, s.manifest, on_done, on_fail)

    def close(self) -> None:
        """Wait for every rank, then leave the process group (nothing to do without torchrun)."""
        barrier()
        cleanup()
