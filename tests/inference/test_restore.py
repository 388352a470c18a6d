"""Full-resolution restoration of L: detail kept where nothing was repaired, repairs taken from the model."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from conftest import TINY_DECODER

from unet_resnet.cli.infer import main as infer_main
from unet_resnet.export.formats import export_pt
from unet_resnet.inference.colorizer import Colorizer
from unet_resnet.inference.restore import repair_mask, restore_lightness
from unet_resnet.models.generator import UNetGenerator, model_spec


def textured(h: int, w: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    base = cv2.resize(rng.uniform(0.2, 0.8, (8, 8)).astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    return np.clip(base + rng.normal(0, 0.03, (h, w)).astype(np.float32), 0, 1)


def test_identity_model_keeps_the_full_resolution_detail() -> None:
    L = textured(600, 400)
    L_pred = cv2.resize(L, (128, 128), interpolation=cv2.INTER_AREA)  # the model changed nothing
    out = restore_lightness(L, L_pred)
    assert out.shape == L.shape
    assert np.abs(out - L).mean() < 0.002  # not the blurry upsampled prediction


def test_global_correction_is_applied_with_detail_kept() -> None:
    L = textured(300, 500)
    L_pred = cv2.resize(L, (128, 128), interpolation=cv2.INTER_AREA) + 0.1  # e.g. exposure fixed
    out = restore_lightness(L, np.clip(L_pred, 0, 1))
    assert abs(float((out - L).mean()) - 0.1) < 0.01
    # high frequencies of the original survive
    hf = L - cv2.GaussianBlur(L, (0, 0), 3)
    hf_out = out - cv2.GaussianBlur(out, (0, 0), 3)
    assert np.corrcoef(hf.ravel(), hf_out.ravel())[0, 1] > 0.95


def test_local_repair_replaces_the_damaged_pixels() -> None:
    L = textured(512, 512)
    damaged = L.copy()
    cv2.line(damaged, (50, 40), (460, 470), 1.0, 3)  # a bright scratch
    L_pred = cv2.resize(L, (128, 128), interpolation=cv2.INTER_AREA)  # a model that removed it
    out = restore_lightness(damaged, L_pred)
    on_scratch = np.zeros_like(L, dtype=bool)
    cv2.line(on_scratch.view(np.uint8), (50, 40), (460, 470), 1, 3)
    assert np.abs(out - L)[on_scratch].mean() < 0.5 * np.abs(damaged - L)[on_scratch].mean()
    assert repair_mask(cv2.resize(damaged, (128, 128), interpolation=cv2.INTER_AREA) - L_pred).max() > 0.5


# ------------------------------------------------------------------------------------------- through inference
def restoration_ckpt(folder: Path, out_channels: int = 3) -> Path:
    torch.manual_seed(0)
    G = UNetGenerator("none", TINY_DECODER, out_channels)
    path = folder / f"G{out_channels}.pt"
    export_pt(G, model_spec(TINY_DECODER, out_channels, 64), path)
    return path


def photo_L(bgr8: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(bgr8.astype(np.float32) / 255.0, cv2.COLOR_BGR2Lab)[..., 0] / 100.0


def test_finish_puts_the_repaired_L_into_the_full_resolution_output(tmp_path: Path) -> None:
    model = Colorizer.load(restoration_ckpt(tmp_path), "cpu", restore=True)
    clean = (textured(300, 420) * 255).astype(np.uint8)
    damaged = clean.copy()
    cv2.line(damaged, (30, 20), (400, 280), 255, 3)
    bgr = cv2.cvtColor(damaged, cv2.COLOR_GRAY2BGR)
    # what a model that removed the scratch (and left colour at zero) would output at render size
    L_small = cv2.resize(photo_L(cv2.cvtColor(clean, cv2.COLOR_GRAY2BGR)), (64, 64), interpolation=cv2.INTER_AREA)
    predicted = np.stack([2.0 * L_small - 1.0, np.zeros_like(L_small), np.zeros_like(L_small)])
    out = model.finish(bgr, predicted)
    assert out.shape == bgr.shape and out.dtype == np.uint8
    on_scratch = np.zeros(clean.shape, np.uint8)
    cv2.line(on_scratch, (30, 20), (400, 280), 1, 3)
    truth_L, out_L, damaged_L = (photo_L(cv2.cvtColor(x, cv2.COLOR_GRAY2BGR)) for x in (clean, out[..., 0], damaged))
    mask = on_scratch.astype(bool)
    assert np.abs(out_L - truth_L)[mask].mean() < 0.5 * np.abs(damaged_L - truth_L)[mask].mean()
    # away from the scratch the photo's own detail is kept
    far = cv2.dilate(on_scratch, np.ones((25, 25), np.uint8)) == 0
    assert np.abs(out_L - damaged_L)[far].mean() < 0.01


def test_infer_restore_writes_same_size_and_refuses_colour_only_models(
    tiny_photos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ckpt3, ckpt2 = restoration_ckpt(tmp_path, 3), restoration_ckpt(tmp_path, 2)
    src = sorted(tiny_photos.iterdir())[0]
    out = tmp_path / "restored.png"
    assert infer_main(["--in", str(src), "--out", str(out), "--ckpt", str(ckpt3), "--restore", "--quiet"]) == 0
    assert cv2.imread(str(out)).shape == cv2.imread(str(src)).shape
    # without --restore a restoration model only colorizes: the photo's own L is kept
    plain = tmp_path / "plain.png"
    assert infer_main(["--in", str(src), "--out", str(plain), "--ckpt", str(ckpt3), "--quiet"]) == 0
    assert np.abs(photo_L(cv2.imread(str(plain))) - photo_L(cv2.imread(str(src)))).mean() < 0.01
    capsys.readouterr()
    code = infer_main(["--in", str(src), "--out", str(tmp_path / "x.png"), "--ckpt", str(ckpt2), "--restore"])
    assert code == 2
    err = capsys.readouterr().err
    assert str(ckpt2) in err and "restore.enabled" in err
    assert not (tmp_path / "x.png").exists()
