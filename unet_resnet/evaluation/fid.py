"""Fréchet Inception Distance from a local InceptionV3 weights file (never downloaded).

The network is torchvision's ``inception_v3`` architecture; its 2048-d pool3 features (after the global average
pool, before the classifier) of two image sets are summarised as Gaussians and compared with

    FID = |mu_a - mu_b|^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))

The matrix square root is taken through symmetric eigendecompositions (numpy, float64), so no SciPy is needed.
Figures are comparable only between runs that use the same weights file and the same number of images: see
``docs/metrics.md`` for how published FIDs are computed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn as nn

log = logging.getLogger(__name__)

INPUT_SIZE = 299
FEATURES = 2048


class FIDWeightsError(ValueError):
    """A weights file that cannot be loaded into InceptionV3; the message names the file and the fix."""


def load_inception(path: str | Path, device: str | torch.device = "cpu") -> nn.Module:
    """torchvision's InceptionV3 with the state dict stored in ``path``, returning pool3 features.

    Accepts a plain state dict or one under ``"state_dict"``/``"model"`` (``module.`` prefixes are stripped), with
    or without the auxiliary classifier, with any classifier size (its weights are not used). The model maps
    ``(B, 3, 299, 299)`` in ``[-1, 1]`` to ``(B, 2048)``.
    """
    from torchvision.models import inception_v3

    path = Path(path)
    if not path.is_file():
        raise FIDWeightsError(f"--fid-weights {path} does not exist; give a local InceptionV3 state dict (.pth)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise FIDWeightsError(f"{path}: not a readable PyTorch weights file ({type(exc).__name__}: {exc})") from exc
    if isinstance(state, dict):
        for key in ("state_dict", "model"):
            if isinstance(state.get(key), dict):
                state = state[key]
    if not isinstance(state, dict) or "Conv2d_1a_3x3.conv.weight" not in {k.removeprefix("module.") for k in state}:
        raise FIDWeightsError(
            f"{path}: not an InceptionV3 state dict in torchvision's layout (no Conv2d_1a_3x3.conv.weight); "
            "save one with torch.save(inception_v3(...).state_dict(), PATH)"
        )
    state = {k.removeprefix("module."): v for k, v in state.items()}
    aux = any(k.startswith("AuxLogits.") for k in state)
    classes = int(state["fc.weight"].shape[0]) if "fc.weight" in state else 1000
    model = inception_v3(weights=None, aux_logits=aux, init_weights=False, num_classes=classes)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise FIDWeightsError(f"{path}: the weights do not fit torchvision's InceptionV3 ({str(exc)[:300]})") from exc
    model.fc = nn.Identity()
    return model.eval().to(device)


def _batch(images: list[np.ndarray], device: torch.device) -> torch.Tensor:
    """uint8 RGB ``(H, W, 3)`` images -> ``(B, 3, 299, 299)`` float32 in ``[-1, 1]`` (bilinear resize)."""
    resized = [cv2.resize(im, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_LINEAR) for im in images]
    x = torch.from_numpy(np.stack(resized)).permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
    return x.to(device)


@torch.no_grad()
def inception_features(model: nn.Module, images: Iterable[np.ndarray], batch_size: int = 16) -> np.ndarray:
    """Pool3 features ``(N, 2048)`` float64 of uint8 RGB images of any sizes."""
    device = next(model.parameters()).device
    out: list[np.ndarray] = []
    pending: list[np.ndarray] = []
    for im in images:
        pending.append(im)
        if len(pending) == batch_size:
            out.append(model(_batch(pending, device)).double().cpu().numpy())
            pending = []
    if pending:
        out.append(model(_batch(pending, device)).double().cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, FEATURES))


def _sqrt_psd(m: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix (negative rounding-error eigenvalues -> 0)."""
    w, v = np.linalg.eigh((m + m.T) / 2.0)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(mu_a: np.ndarray, cov_a: np.ndarray, mu_b: np.ndarray, cov_b: np.ndarray) -> float:
    """Fréchet distance of two Gaussians ``(mu (D,), cov (D, D))``.

    ``Tr((S_a S_b)^(1/2))`` equals ``Tr((S_a^(1/2) S_b S_a^(1/2))^(1/2))``, whose argument is symmetric PSD, so
    both roots come from ``eigh`` and stay real.
    """
    root_a = _sqrt_psd(cov_a)
    middle = root_a @ cov_b @ root_a
    trace_root = float(np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2.0), 0.0, None)).sum())
    diff = mu_a - mu_b
    return float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_root)


def fid_from_features(feats_a: np.ndarray, feats_b: np.ndarray) -> float:
    """FID of two feature sets ``(N, D)`` and ``(M, D)``; each needs at least two rows."""
    if len(feats_a) < 2 or len(feats_b) < 2:
        raise ValueError(f"FID needs at least 2 images per set, got {len(feats_a)} and {len(feats_b)}")
    if len(feats_a) < feats_a.shape[1]:
        log.info(
            "FID on %d images (< %d features): biased upwards, compare only equal set sizes",
            len(feats_a),
            feats_a.shape[1],
        )
    return frechet_distance(
        feats_a.mean(0), np.cov(feats_a, rowvar=False), feats_b.mean(0), np.cov(feats_b, rowvar=False)
    )
