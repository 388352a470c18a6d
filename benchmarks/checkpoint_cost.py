#!/usr/bin/env python3
"""What a checkpoint write costs: the size of ``last.pt`` (everything to resume) and ``best.pt`` (what inference
needs) for the bundled configs' models, and the time of ``save_atomic`` (fsync included), three writes each::

    python benchmarks/checkpoint_cost.py [--configs demo coco imagenet] [--dir .]

Each trainer is built from its config (random weights) and takes one GAN step on a tiny batch, so Adam's moments
exist, as in any saved ``last.pt``. Files are written in a temporary folder under ``--dir`` (the disk a run uses).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from unet_resnet.config import load_config
from unet_resnet.models.checkpoint import save_atomic
from unet_resnet.models.discriminator import PatchDiscriminator
from unet_resnet.models.generator import UNetGenerator
from unet_resnet.runtime.distributed import DistInfo
from unet_resnet.training.trainer import Pix2PixTrainer

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--configs", nargs="+", default=["demo", "coco", "imagenet"])
    p.add_argument("--dir", default=".", help="where to write (a temporary folder inside it)")
    args = p.parse_args()
    for name in args.configs:
        cfg = load_config(ROOT / "configs" / f"{name}.yaml", ["model.encoder_weights=none"])
        G = UNetGenerator("none", cfg.model.decoder_channels, 2)
        D = PatchDiscriminator(in_channels=3, base=cfg.model.disc_channels)
        trainer = Pix2PixTrainer(G, D, cfg, DistInfo(0, 0, 1, torch.device("cpu")), torch.float32)
        trainer.gan_step([(torch.rand(2, 1, 64, 64), torch.rand(2, 2, 64, 64) - 0.5)])
        files = {"last.pt": trainer.state_dict(), "best.pt": {"generator": trainer.generator_state()}}
        with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
            for file, state in files.items():
                path, seconds = Path(tmp) / file, []
                for _ in range(3):
                    started = time.perf_counter()
                    save_atomic(state, path)
                    seconds.append(time.perf_counter() - started)
                mb = path.stat().st_size / 1e6
                print(f"{name:9s} {file:8s} {mb:7.1f} MB  write {min(seconds):.2f}-{max(seconds):.2f} s")


if __name__ == "__main__":
    main()
