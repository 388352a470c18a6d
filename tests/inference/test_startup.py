"""Start-up of the inference command: a whole run loads neither timm nor torchvision, and the start-up measurement
reports a failed run. (``--help`` and argument errors before torch: ``tests/cli/test_front.py``.)"""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
from conftest import rgb_image
from fresh_process import run_python, torch_modules


@pytest.mark.slow
def test_whole_run_imports_neither_timm_nor_torchvision(tmp_path: Path, tiny_generator_ckpt: Path) -> None:
    photo = tmp_path / "p.png"
    cv2.imwrite(str(photo), rgb_image(40, 56))
    out = tmp_path / "out.png"
    args = ["infer.py", "--in", str(photo), "--out", str(out), "--ckpt", str(tiny_generator_ckpt), "--device", "cpu"]
    done, modules = run_python(*args, "--quiet", timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert cv2.imread(str(out)).shape == (40, 56, 3)
    assert torch_modules(modules)  # the model really ran in this process
    assert not {m.split(".")[0] for m in modules} & {"timm", "torchvision"}


def test_startup_measurement_reports_a_failed_run(tmp_path: Path) -> None:
    from unet_resnet.bench.startup import StartupError, infer_startup_seconds

    photo = tmp_path / "p.png"
    cv2.imwrite(str(photo), rgb_image(40, 56))
    with pytest.raises(StartupError, match=r"missing\.pt"):
        infer_startup_seconds(tmp_path / "missing.pt", photo, repeats=1)
