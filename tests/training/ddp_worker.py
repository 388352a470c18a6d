"""Run by test_distributed under torchrun: ``train.py``'s main, then each rank dumps its weights for comparison."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch

from unet_resnet.cli.train import main as train_main
from unet_resnet.training import loop
from unet_resnet.training.state import Run


def main() -> int:
    config, dump_dir = sys.argv[1], Path(sys.argv[2])
    runs: list[Run] = []
    real_fit = loop.fit

    def keep_run(run: Run, on_progress: Any = None) -> Path:
        runs.append(run)
        return real_fit(run, on_progress)

    loop.fit = keep_run  # the training API looks the loop up in its module at call time
    code = train_main(["-c", config])
    if code == 0:
        run = runs[0]
        params = {f"G.{k}": v.detach().cpu() for k, v in run.trainer.G.named_parameters()}
        params |= {f"D.{k}": v.detach().cpu() for k, v in run.trainer.D.named_parameters()}
        torch.save({"params": params, "run_dir": str(run.run_dir)}, dump_dir / f"rank{run.info.rank}.pt")
    return code


if __name__ == "__main__":
    sys.exit(main())
