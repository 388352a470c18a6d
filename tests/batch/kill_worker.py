"""Run by test_archive: infer's command line, killed (SIGKILL: no clean-up at all) as it starts writing a photo.

``python kill_worker.py N RANK infer-arguments...``: the process of rank ``RANK`` (``RANK`` env, 0 without
torchrun) kills itself when it is about to write its ``N+1``-th output; other ranks run normally.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

from unet_resnet.batch import pipeline
from unet_resnet.cli.infer import main as infer_main


def main() -> int:
    limit, doomed = int(sys.argv[1]), int(sys.argv[2])
    if int(os.environ.get("RANK", "0")) == doomed:
        real, lock, calls = pipeline.write_atomic, threading.Lock(), [0]

        def write_or_die(path: str | Path, data: bytes) -> None:
            with lock:
                calls[0] += 1
                if calls[0] > limit:
                    os.kill(os.getpid(), signal.SIGKILL)
            real(path, data)

        pipeline.write_atomic = write_or_die  # type: ignore[assignment]
    return infer_main(sys.argv[3:], prog="infer.py")


if __name__ == "__main__":
    sys.exit(main())
