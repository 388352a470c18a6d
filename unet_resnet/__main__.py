"""``python -m unet_resnet <command>``: the same front as the ``unet-resnet`` console script."""

import sys

from unet_resnet.cli import main

if __name__ == "__main__":
    sys.exit(main())
