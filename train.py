#!/usr/bin/env python3
"""Train the colorizer. See `python train.py --help`; under torchrun it trains with DDP."""

import sys

from unet_resnet.training import main

if __name__ == "__main__":
    sys.exit(main())
