"""Run by test_distributed under torchrun: ``train.py``'s main, then each rank dumps its weights for comparison."""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from unet_resnet.training import run as training


def main() -> int:
    config, dump_dir = sys.argv[1], Path(sys.argv[2])
    runs: list[training.Run] = []
    real_train = training.train

    def keep_run(run: training.Run) -> Path:
        runs.append(run)
        return real_train(run)

    training.train = keep_run  # type: ignore[assignment]
    code = training.main(["-c", config])
    if code == 0:
        run = runs[0]
        params = {f"G.{k}": v.detach().cpu() for k, v in run.G.named_parameters()}
        params |= {f"D.{k}": v.detach().cpu() for k, v in run.D.named_parameters()}
        torch.save({"params": params, "run_dir": str(run.run_dir)}, dump_dir / f"rank{run.info.rank}.pt")
    return code


if __name__ == "__main__":
    sys.exit(main())
