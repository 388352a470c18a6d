"""``unet-resnet evaluate``: every promised file, the grayscale baseline beside the model, optional FID."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from unet_resnet.cli.evaluate import main
from unet_resnet.data.imageio import read_rgb8
from unet_resnet.evaluation.evaluate import against_gray
from unet_resnet.evaluation.fid import fid_from_features, inception_features, load_inception
from unet_resnet.metrics import image_scores

ROOT = Path(__file__).resolve().parents[2]
SCORER = ROOT.parent / "shared" / "bench" / "score.py"
KEYS = {"images", "psnr_rgb", "ssim_rgb", "ab_l1", "cf_pred", "cf_truth", "delta_cf", "l_max_err", "fid"}


@pytest.fixture(scope="module")
def inception_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Random InceptionV3 weights whose BatchNorm statistics are calibrated on noise, so features are not ~0."""
    from torchvision.models import inception_v3

    torch.manual_seed(0)
    net = inception_v3(weights=None, aux_logits=True, init_weights=False)
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the calibration pass
    net.train()
    with torch.no_grad():
        net(torch.rand(4, 3, 299, 299) * 2 - 1)
    path = tmp_path_factory.mktemp("fid") / "inception.pth"
    torch.save(net.state_dict(), path)
    return path


@pytest.fixture
def photos(tiny_photos: Path) -> Path:
    for p in sorted(tiny_photos.iterdir())[4:]:  # 4 photos keep the test fast
        p.unlink()
    return tiny_photos


def test_writes_every_promised_file_with_the_grayscale_baseline(
    photos: Path, tiny_generator_ckpt: Path, tmp_path: Path
) -> None:
    out, preds = tmp_path / "report", tmp_path / "preds"
    args = ["--ckpt", str(tiny_generator_ckpt), "--data", str(photos), "--out", str(out)]
    assert main([*args, "--save-predictions", str(preds), "--sheet", "3", "--quiet"]) == 0
    report = json.loads((out / "metrics.json").read_text())
    assert report["images"] == 4 and report["render_size"] == 64
    assert set(report["model"]) == KEYS and set(report["gray"]) == KEYS
    assert report["model"]["fid"] is None and "FID skipped" in report["fid_note"]
    assert report["gray"]["cf_pred"] < 1.0 and report["gray"]["ab_l1"] > 1.0
    assert report["model"]["l_max_err"] < 1.0  # the colorizer keeps each photo's own lightness
    table = (out / "metrics.md").read_text()
    assert "| grayscale baseline (ab = 0) |" in table and "| model |" in table and "FID skipped" in table
    sheet = cv2.imread(str(out / "contact_sheet.png"))
    assert sheet is not None and sheet.shape[0] == 3 * (160 + 4)
    # the figures are those of the 8-bit predictions as written: scoring the saved files gives them again
    rows = {row["path"]: row for row in report["per_image"]}
    assert set(rows) == {p.name for p in photos.iterdir()}
    for name, row in rows.items():
        pred, truth = read_rgb8(preds / Path(name).with_suffix(".png")), read_rgb8(photos / name)
        assert pred.shape == truth.shape
        assert image_scores(pred, truth) == pytest.approx(row["model"])
    above = sum(row["model"]["psnr"] > row["gray"]["psnr"] for row in rows.values())
    assert report["against_gray"]["above"] == above and report["against_gray"]["images"] == 4
    assert "Against gray, photo by photo" in table


def test_against_gray_names_the_largest_losses() -> None:
    def row(path: str, model: float, gray: float) -> dict:
        return {"path": path, "model": {"psnr": model}, "gray": {"psnr": gray}}

    rows = [row("a.jpg", 25.0, 24.0), row("b.jpg", 21.0, 31.0), row("c.jpg", 23.0, 22.0), row("d.jpg", 20.0, 22.0)]
    summary = against_gray(rows, worst=1)
    assert summary["above"] == 2 and summary["images"] == 4
    assert summary["mean_psnr_difference"] == pytest.approx((1 - 10 + 1 - 2) / 4)
    assert summary["worst"] == [{"path": "b.jpg", "psnr_difference": pytest.approx(-10.0)}]
    assert summary["mean_psnr_difference_without_worst"] == pytest.approx((1 + 1 - 2) / 3)
    # only losses are listed as losses: a model above gray everywhere has none
    assert against_gray([row("a.jpg", 25.0, 24.0)])["worst"] == []


def test_agrees_with_the_neutral_scorer(photos: Path, tiny_generator_ckpt: Path, tmp_path: Path) -> None:
    if not SCORER.is_file():
        pytest.skip(f"neutral scorer not found at {SCORER}")
    out, preds = tmp_path / "report", tmp_path / "preds"
    args = ["--ckpt", str(tiny_generator_ckpt), "--data", str(photos), "--out", str(out), "--quiet"]
    assert main([*args, "--save-predictions", str(preds)]) == 0
    ours = json.loads((out / "metrics.json").read_text())
    for system, extra in (("model", ["--pred", str(preds)]), ("gray", ["--gray"])):
        cmd = [sys.executable, str(SCORER), "--truth", str(photos), *extra]
        theirs = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        for key, value in theirs.items():
            assert ours[system][key] == pytest.approx(value, abs=1e-4), (system, key)


def test_fid_from_a_local_weights_file(
    photos: Path, tiny_generator_ckpt: Path, tmp_path: Path, inception_weights: Path
) -> None:
    net = load_inception(inception_weights)
    images = [read_rgb8(p) for p in sorted(photos.iterdir())]
    feats = inception_features(net, images, batch_size=2)
    assert feats.shape == (4, 2048) and np.isfinite(feats).all() and feats.std(0).mean() > 1e-3
    shifted = inception_features(net, [np.ascontiguousarray(im[..., ::-1]) for im in images])
    assert abs(fid_from_features(feats, feats)) < 1e-6 * fid_from_features(feats, shifted)

    out = tmp_path / "report"
    args = ["--ckpt", str(tiny_generator_ckpt), "--data", str(photos), "--out", str(out), "--quiet"]
    assert main([*args, "--fid-weights", str(inception_weights)]) == 0
    report = json.loads((out / "metrics.json").read_text())
    assert report["model"]["fid"] > 0 and report["gray"]["fid"] > 0
    assert "FID with inception.pth" in (out / "metrics.md").read_text()


def test_unusable_fid_weights_are_an_error_naming_the_file(
    photos: Path, tiny_generator_ckpt: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "not_inception.pth"
    torch.save({"conv.weight": torch.zeros(1)}, bad)
    args = ["--ckpt", str(tiny_generator_ckpt), "--data", str(photos), "--out", str(tmp_path / "r"), "--quiet"]
    assert main([*args, "--fid-weights", str(bad)]) == 2
    assert str(bad) in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_progress_is_reported_per_batch_through_a_callback(
    photos: Path, tiny_generator_ckpt: Path, tmp_path: Path
) -> None:
    from unet_resnet.evaluation.evaluate import EvalJob, evaluate_checkpoint

    calls: list[tuple[int, int]] = []
    job = EvalJob(photos, tiny_generator_ckpt, tmp_path / "report", on_progress=lambda *a: calls.append(a))
    evaluate_checkpoint(job, batch_size=3)
    assert calls == [(3, 4), (4, 4)]
