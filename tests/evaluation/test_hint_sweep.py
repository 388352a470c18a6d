"""``evaluate --hints``: the sweep's points are fixed and nested, fidelity is measured, every file is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import rgb_image, write_tiny_generator

from unet_resnet.cli.evaluate import main
from unet_resnet.data.hints import Patch
from unet_resnet.evaluation.hint_sweep import fidelity, parse_counts, sweep_patches

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def hint_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hint") / "hint_G.pt"
    return write_tiny_generator(path, seed=5, hints=True)


def test_counts_parse() -> None:
    assert parse_counts("10, 0,2,2") == [0, 2, 10]
    with pytest.raises(ValueError, match="'x' is not a number of points"):
        parse_counts("0,x")


def test_points_are_fixed_nested_and_from_the_truth() -> None:
    truth = rgb_image(50, 70, seed=2)
    ten = sweep_patches(truth, index=3, count=10, size=64, side=3)
    assert sweep_patches(truth, index=3, count=10, size=64, side=3) == ten
    assert sweep_patches(truth, index=3, count=4, size=64, side=3) == ten[:4]
    assert sweep_patches(truth, index=4, count=10, size=64, side=3) != ten
    # the truth itself follows its own hints up to 8-bit rounding
    assert max(fidelity(truth, ten, 64)) < 1e-3
    far = [Patch(p.x0, p.y0, p.side, p.a + 10 / 128, p.b) for p in ten]  # 10 Lab units off in a
    assert fidelity(truth, far, 64) == pytest.approx([10.0] * 10, abs=1e-3)


def test_sweep_writes_its_report(tmp_path: Path, hint_ckpt: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import cv2

    data = tmp_path / "val"
    data.mkdir()
    for i in range(3):
        cv2.imwrite(str(data / f"p{i}.png"), rgb_image(40 + 8 * i, 56, seed=i))
    out = tmp_path / "report"
    args = ["--ckpt", str(hint_ckpt), "--data", str(data), "--out", str(out), "--device", "cpu", "--quiet"]
    assert main([*args, "--hints", "0,1,5"]) == 0
    printed = capsys.readouterr().out
    assert "| 5 |" in printed and "grayscale baseline" in printed
    report = json.loads((out / "hints.json").read_text())
    assert set(report["counts"]) == {"0", "1", "5"}
    assert report["counts"]["0"]["hint_ab_mean"] is None
    assert report["counts"]["5"]["hint_points"] == 15 and report["counts"]["5"]["hint_ab_p95"] is not None
    sheet = cv2.imread(str(out / "hints_sheet.png"))
    assert sheet.shape[0] >= 3 * 160 and sheet.shape[1] > 5 * 160  # gray, three counts, truth per row
    assert (out / "hints.md").read_text().startswith("# hint_G.pt on val")


def test_sweep_of_a_plain_model_is_refused(
    tmp_path: Path, tiny_generator_ckpt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import cv2

    (tmp_path / "val").mkdir()
    cv2.imwrite(str(tmp_path / "val" / "p.png"), rgb_image(32, 32))
    args = ["--ckpt", str(tiny_generator_ckpt), "--data", str(tmp_path / "val"), "--device", "cpu", "--quiet"]
    assert main([*args, "--hints", "0,2", "--out", str(tmp_path / "s")]) == 0  # hints spread over any model's output
    capsys.readouterr()
    args += ["--hint-spread", "0"]  # the network alone: a model trained without hints cannot use them
    assert main([*args, "--hints", "0,2", "--out", str(tmp_path / "r")]) == 2
    assert "does not take colour hints" in capsys.readouterr().err
    assert main([*args, "--hints", "0", "--out", str(tmp_path / "r")]) == 0  # the automatic row works for any model
