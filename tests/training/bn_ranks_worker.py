"""Run twice by test_bn_ranks (ranks 0 and 1 of a gloo group): precise BN over 5 photos with a layer whose forward
pass is a collective, as SyncBatchNorm's is on CUDA. Prints this rank's batch count."""

from __future__ import annotations

import datetime
import sys

import torch
import torch.distributed as dist
import torch.nn as nn
from torch.utils.data import Dataset

from unet_resnet.training.bn_stats import bn_batches, recompute_bn_stats


class CollectiveBatchNorm(nn.BatchNorm2d):
    """A BatchNorm whose training-mode forward all-reduces the batch statistics, like SyncBatchNorm."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            dist.all_reduce(x.detach().mean(dim=(0, 2, 3)).contiguous())
        return super().forward(x)


class Photos(Dataset):
    def __len__(self) -> int:
        return 5

    def __getitem__(self, key: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        g = torch.Generator().manual_seed(key[0])
        return torch.rand(1, 8, 8, generator=g), torch.zeros(2, 8, 8)


def main() -> int:
    init, rank = sys.argv[1], int(sys.argv[2])
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=2, timeout=datetime.timedelta(seconds=30))
    net = nn.Sequential(nn.Conv2d(1, 4, 3), CollectiveBatchNorm(4))
    keys = [(i, 0) for i in range(5)]  # 5 photos over 2 ranks
    seen = recompute_bn_stats(net, bn_batches(Photos(), keys, 2, torch.device("cpu"), rank, 2), world_size=2)
    print(f"batches={seen}", flush=True)
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
