"""``model.encoder_weights: auto``: ImageNet weights from the Hub cache, random ones offline or when the download
stalls, one log line saying which."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import save_file

from unet_resnet.models import imagenet
from unet_resnet.models.generator import build_encoder

hub = pytest.importorskip("huggingface_hub")
from huggingface_hub import constants  # noqa: E402


@pytest.fixture
def empty_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    return tmp_path / "hub"


def test_offline_falls_back_to_random_weights_and_says_how_to_use_a_file(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with caplog.at_level(logging.INFO, logger="unet_resnet.models.imagenet"):
        weights, note = imagenet.auto_encoder_weights()
    assert weights == "none" and "HF_HUB_OFFLINE" in note
    [line] = [r.getMessage() for r in caplog.records]
    assert "random weights" in line and "set model.encoder_weights to a local .pth/.safetensors" in line


def test_without_network_it_falls_back_at_once(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """HF_HUB_OFFLINE unset: huggingface_hub really tries the network, which this test suite refuses."""
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    with caplog.at_level(logging.INFO, logger="unet_resnet.models.imagenet"):
        weights, note = imagenet.auto_encoder_weights(timeout_s=60)
    assert weights == "none" and "huggingface.co cannot be reached" in note
    assert "random weights" in caplog.text


def test_a_stalled_download_falls_back_when_the_time_is_up(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    release = threading.Event()

    def stalled(repo: str, filename: str, **kwargs: Any) -> str:
        if kwargs.get("local_files_only"):
            raise hub.errors.LocalEntryNotFoundError("not cached")
        release.wait(60)  # a server that never answers
        raise OSError("gave up")

    monkeypatch.setattr(hub, "hf_hub_download", stalled)
    monkeypatch.setattr(
        imagenet, "_unreachable", lambda endpoint, timeout: ""
    )  # the host answers, the file never comes
    try:
        with caplog.at_level(logging.INFO, logger="unet_resnet.models.imagenet"):
            weights, note = imagenet.auto_encoder_weights(timeout_s=0.2)
    finally:
        release.set()
    assert weights == "none" and "did not finish within 0.2 s" in note
    assert "did not finish within 0.2 s" in caplog.text


def test_weights_in_the_hub_cache_are_used(
    empty_cache: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """timm's resnet18 weights laid out in the cache as huggingface_hub stores them: auto loads them."""
    import timm

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    state = timm.create_model("resnet18", pretrained=False).state_dict()
    commit = "f" * 40
    root = empty_cache / ("models--" + imagenet.TIMM_REPO.replace("/", "--"))
    (root / "snapshots" / commit).mkdir(parents=True)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(commit)
    save_file({k: v.contiguous() for k, v in state.items()}, str(root / "snapshots" / commit / "model.safetensors"))
    with caplog.at_level(logging.INFO, logger="unet_resnet.models.imagenet"):
        encoder = build_encoder("auto")
    assert "ImageNet weights of timm's resnet18" in caplog.text and "from the Hugging Face cache" in caplog.text
    stem = encoder.get_submodule("conv1").weight
    assert torch.allclose(stem, state["conv1.weight"].sum(dim=1, keepdim=True))
