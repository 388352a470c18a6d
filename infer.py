#!/usr/bin/env python3
"""Colorize a folder of photos. See `python infer.py --help`."""

import sys

from unet_resnet.infer import main

if __name__ == "__main__":
    sys.exit(main())
