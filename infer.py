#!/usr/bin/env python3
"""Colorize photos: ``python infer.py --in DIR --out DIR``; same as ``unet-resnet infer``."""

import sys

from unet_resnet.cli.infer import main

if __name__ == "__main__":
    sys.exit(main(prog="infer.py"))
