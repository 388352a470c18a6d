"""Hub ids: loaded from a Hub cache laid out as huggingface_hub lays it out, offline; refusals; push."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from unet_resnet.cli import main
from unet_resnet.inference.colorizer import Colorizer
from unet_resnet.models.checkpoint import CheckpointError, load_generator

hub = pytest.importorskip("huggingface_hub", reason="the hub extra is not installed: pip install -e '.[hub]'")
from huggingface_hub import constants  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def lay_out_cache(cache: Path, repo: str, folder: Path | None, files: dict[str, bytes] | None = None) -> Path:
    """The Hub cache's own layout: models--user--name/refs/main -> snapshots/<commit>/<files>."""
    root = cache / ("models--" + repo.replace("/", "--"))
    snapshot = root / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (root / "refs").mkdir()
    (root / "refs" / "main").write_text(COMMIT)
    if folder is not None:
        for path in folder.iterdir():
            shutil.copy(path, snapshot / path.name)
    for name, data in (files or {}).items():
        (snapshot / name).write_bytes(data)
    return snapshot


@pytest.fixture
def model_folder(tiny_generator_ckpt: Path, tmp_path: Path) -> Path:
    return Colorizer.load(tiny_generator_ckpt, "cpu").save_pretrained(tmp_path / "folder")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Hub cache in tmp_path, offline (huggingface_hub reads HF_HUB_CACHE once, at import)."""
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return tmp_path / "hub"


def test_a_hub_id_loads_from_the_cache_offline(
    model_folder: Path, cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lay_out_cache(cache, "someone/colorizer", model_folder)
    monkeypatch.chdir(tmp_path)  # no local path named someone/colorizer
    model = Colorizer.from_pretrained("someone/colorizer", "cpu")
    local = Colorizer.from_pretrained(model_folder, "cpu")
    L = np.random.default_rng(0).random((1, 64, 64), dtype=np.float32)
    assert np.array_equal(model.predict(L), local.predict(L))
    assert model.title.startswith("someone/colorizer (")
    G, _ = load_generator(f"someone/colorizer@{COMMIT}")  # a revision
    assert torch.equal(G.head.weight, model.G.head.weight)


def test_infer_takes_a_hub_id_from_a_fresh_process(model_folder: Path, tmp_path: Path, tiny_photos: Path) -> None:
    """As a user runs it: HF_HUB_OFFLINE=1 and HF_HUB_CACHE in the environment, read by huggingface_hub itself."""
    lay_out_cache(tmp_path / "hub", "someone/colorizer", model_folder)
    env = os.environ | {"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "hub"), "PYTHONPATH": str(ROOT)}
    args = ["--ckpt", "someone/colorizer", "--in", str(tiny_photos), "--out", str(tmp_path / "out"), "--quiet"]
    proc = subprocess.run(
        [sys.executable, "-m", "unet_resnet", "infer", *args], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert "model: someone/colorizer" in proc.stdout
    assert len(list((tmp_path / "out").iterdir())) == len(list(tiny_photos.iterdir()))


def test_offline_without_the_model_cached_says_so_and_how_to_go_local(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CheckpointError, match=r"cannot be reached.*not in the Hub cache.*local model folder"):
        load_generator("someone/absent")


def test_a_hub_id_that_does_not_exist_is_named(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Online, the Hub answers 404; the error says no such model (simulated: tests never use the network)."""
    import httpx2

    def not_found(*args: Any, **kwargs: Any) -> str:
        response = httpx2.Response(404, request=httpx2.Request("GET", "https://huggingface.co/api/models/x/y"))
        raise hub.errors.RepositoryNotFoundError("404 Repository Not Found", response=response)

    monkeypatch.setattr(hub, "snapshot_download", not_found)
    with pytest.raises(CheckpointError, match=r"someone/absent: no such model on the Hugging Face Hub.*check the name"):
        load_generator("someone/absent")


def test_a_hub_repository_with_pickle_weights_is_refused(
    cache: Path, tiny_generator_ckpt: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lay_out_cache(cache, "someone/pickled", None, {"pytorch_model.bin": tiny_generator_ckpt.read_bytes()})
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CheckpointError, match=r"no model.safetensors; only safetensors weights are loaded"):
        load_generator("someone/pickled")


def test_without_huggingface_hub_a_hub_id_says_what_to_install(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # import fails
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CheckpointError, match=r'pip install "unet_resnet\[hub\]"'):
        load_generator("someone/colorizer")


def test_push_publishes_a_private_model_folder_with_a_card(
    tiny_generator_ckpt: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What push hands to huggingface_hub (the upload itself needs the network and a login)."""
    calls: dict[str, Any] = {}

    class FakeApi:
        def __init__(self, **kwargs: Any) -> None:
            pass

        def create_repo(self, repo_id: str, **kwargs: Any) -> str:
            calls["create"] = (repo_id, kwargs)
            return f"https://huggingface.co/{repo_id}"

        def upload_folder(self, **kwargs: Any) -> None:
            folder = Path(kwargs["folder_path"])
            calls["files"] = sorted(p.name for p in folder.iterdir())
            calls["card"] = (folder / "README.md").read_text()
            calls["repo"] = kwargs["repo_id"]

    monkeypatch.setattr(hub, "HfApi", FakeApi)
    assert main(["push", "--ckpt", str(tiny_generator_ckpt), "--repo", "me/my-colorizer"]) == 0
    assert calls["create"] == ("me/my-colorizer", {"private": True, "exist_ok": True, "repo_type": "model"})
    assert calls["files"] == ["README.md", "config.json", "model.safetensors"] and calls["repo"] == "me/my-colorizer"
    assert "- image-to-image\n- colorization" in calls["card"]
    assert 'Colorizer.from_pretrained("me/my-colorizer")' in calls["card"]
    assert "published https://huggingface.co/me/my-colorizer" in capsys.readouterr().out


def test_push_offline_says_so_and_keeps_the_checkpoint(
    tiny_generator_ckpt: Path, cache: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tiny_generator_ckpt.read_bytes()
    assert main(["push", "--ckpt", str(tiny_generator_ckpt), "--repo", "me/my-colorizer"]) == 2
    err = capsys.readouterr().err
    assert "cannot publish me/my-colorizer" in err and "HF_HUB_OFFLINE" in err
    assert tiny_generator_ckpt.read_bytes() == before


def test_push_refuses_a_bad_repo_id(tiny_generator_ckpt: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["push", "--ckpt", str(tiny_generator_ckpt), "--repo", "no-slash"]) == 2
    assert "give a Hub repository id, user/name" in capsys.readouterr().err


def test_push_without_network_says_so(
    tiny_generator_ckpt: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """HF_HUB_OFFLINE unset: huggingface_hub really tries to connect, which this test suite refuses."""
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_TOKEN", "hf_test_token_never_sent")
    assert main(["push", "--ckpt", str(tiny_generator_ckpt), "--repo", "me/my-colorizer"]) == 2
    err = capsys.readouterr().err
    assert "cannot publish me/my-colorizer" in err and "check the network" in err
