#!/usr/bin/env python3
"""Train the colorizer: ``python train.py -c configs/coco.yaml`` (DDP under torchrun); same as ``unet-resnet train``."""

import sys

from unet_resnet.cli.train import main

if __name__ == "__main__":
    sys.exit(main(prog="train.py"))
