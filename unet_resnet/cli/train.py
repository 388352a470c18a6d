"""``unet-resnet train`` / ``python train.py``: train the colorizer from a YAML config (DDP under torchrun).

Arguments are checked before torch is imported, so ``--help`` and a mistyped option answer at once.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

log = logging.getLogger("unet_resnet.train")

EXIT_INTERRUPTED = 130  # as a shell reports a process stopped by Ctrl-C


def parse_args(argv: list[str] | None, prog: str | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog=prog or "train.py",
        description="Train the colorizer: L1 pretraining of the generator, then the GAN stage. "
        "Runs as one process or under torchrun (DDP).",
        epilog="examples:\n  python train.py -c configs/demo.yaml\n"
        "  torchrun --nproc_per_node=4 train.py -c configs/coco.yaml\n"
        "  python train.py -c configs/coco.yaml train.lr=1e-4 data.batch_size=32\n"
        "  python train.py --resume runs/coco/last.pt",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("-c", "--config", help="YAML config (see configs/); keys not in it keep their defaults")
    p.add_argument(
        "--stage", choices=("both", "pretrain", "gan"), default="both", help="which stages to run (default: both)"
    )
    p.add_argument("--resume", metavar="CKPT", help="continue a run from its last.pt (config taken from it)")
    p.add_argument("overrides", nargs="*", metavar="section.key=value", help="config overrides")
    return p.parse_args(argv)


class ProgressBar:
    """A tqdm bar per epoch, moved by the training's reports (every ``log.every`` steps) on rank 0."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.epoch: tuple[str, int] | None = None

    def __call__(self, report: Any) -> None:  # a unet_resnet.training.progress.StepReport
        from tqdm import tqdm

        if self.epoch != (report.stage, report.epoch):
            self.close()
            self.epoch = (report.stage, report.epoch)
            desc = f"{report.stage} {report.epoch}/{report.epochs}"
            self.bar = tqdm(total=report.steps_in_epoch, desc=desc, dynamic_ncols=True, leave=False, file=sys.stderr)
        self.bar.update(report.step_in_epoch - self.bar.n)
        shown = {k: f"{v:.3f}" for k, v in report.losses.items()}
        self.bar.set_postfix(shown | {"img/s": f"{report.images_per_s:.1f}"}, refresh=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """Exit codes: 0 trained, 1 a config / data / checkpoint / training error (logged), 130 stopped by Ctrl-C."""
    args = parse_args(argv, prog)
    # Under torchrun only rank 0 reports progress; the other ranks speak up for warnings and errors.
    rank0 = os.environ.get("RANK", "0") == "0"
    logging.basicConfig(
        level=logging.INFO if rank0 else logging.WARNING,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
    )

    from unet_resnet.config import ConfigError, load_config
    from unet_resnet.data.photos import DataError
    from unet_resnet.models.checkpoint import CheckpointError
    from unet_resnet.models.generator import EncoderWeightsError
    from unet_resnet.training import api
    from unet_resnet.training.progress import TrainingError
    from unet_resnet.training.state import resume_config

    try:
        cfg = resume_config(args.resume, args.overrides) if args.resume else load_config(args.config, args.overrides)
        bar = ProgressBar()
        try:
            api.train(cfg, args.stage, args.resume, on_progress=bar)
        finally:
            bar.close()
        return 0
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except (ConfigError, DataError, CheckpointError, EncoderWeightsError, TrainingError) as exc:
        log.error("%s", exc)
        return 1
