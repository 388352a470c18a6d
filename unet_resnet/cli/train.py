"""``unet-resnet train`` / ``python train.py``: train the colorizer from a YAML config (DDP under torchrun).

Arguments are checked before torch is imported, so ``--help`` and a mistyped option answer at once.
"""

from __future__ import annotations

import argparse
import logging
import os

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
        api.train(cfg, args.stage, args.resume)
        return 0
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except (ConfigError, DataError, CheckpointError, EncoderWeightsError, TrainingError) as exc:
        log.error("%s", exc)
        return 1
