"""Run by test_photo_list under torchrun: ``train.py``'s main where rank 1 alone cannot read one photo; each rank
writes how many training batches it converted for the model."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

from unet_resnet.cli.train import main as train_main
from unet_resnet.data import dataset, imageio, loader, photos
from unet_resnet.data.imageio import ImageReadError


def main() -> int:
    config, broken, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    rank = int(os.environ["RANK"])
    if rank == 1:  # this rank's storage cannot read the photo (a flaky mount, a permission)
        real = imageio.read_bytes

        def read_bytes(path: str | Path) -> np.ndarray:
            if Path(path).name == broken:
                raise ImageReadError(path, "permission denied on this node")
            return real(path)

        for module in (imageio, dataset, photos):
            module.read_bytes = read_bytes  # type: ignore[attr-defined]
    batches = [0]
    real_batch = loader.model_batch

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        batches[0] += 1
        return real_batch(*args, **kwargs)

    loader.model_batch = counting  # type: ignore[assignment]
    code = train_main(["-c", config])
    (out / f"rank{rank}.json").write_text(json.dumps({"code": code, "batches": batches[0]}))
    return code


if __name__ == "__main__":
    sys.exit(main())
