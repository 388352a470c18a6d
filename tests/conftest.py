"""Shared fixtures: tiny real photos, a tiny generator checkpoint, tiny training configs.

Tests never touch the network: encoders are built with random weights or from weight files the tests write.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import yaml

# before anything imports huggingface_hub, which reads it once: hub look-ups fail at once instead of retrying
os.environ["HF_HUB_OFFLINE"] = "1"

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "data" / "samples"
SHARED_DATA = ROOT.parent / "shared" / "data"

torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any attempt to open a network connection fails the test (loopback stays allowed for torchrun/gloo)."""
    real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def local(host: object) -> bool:
        return host is None or str(host).startswith("127.") or str(host) in ("localhost", "::1", "")

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else ""
        if self.family in (socket.AF_INET, socket.AF_INET6) and not local(host):
            raise AssertionError(f"test tried to reach the network: {address}")
        return real_connect(self, address)  # type: ignore[arg-type]

    def guarded_lookup(host: object, *args: object, **kwargs: object) -> object:
        # fail name look-ups at once too: waiting for DNS that cannot answer only makes the suite slow
        if not local(host):
            raise socket.gaierror(socket.EAI_NONAME, f"test tried to look up {host}: tests never use the network")
        return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_lookup)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    yield


@pytest.fixture(scope="session")
def sample_paths() -> list[Path]:
    paths = sorted(p for p in SAMPLES.iterdir() if p.suffix in (".png", ".jpg"))
    assert len(paths) >= 4, f"the bundled samples are missing from {SAMPLES}"
    return paths


@pytest.fixture
def shared_data() -> Path:
    """The real photos beside the checkout (train/, val/, faces/); the test is skipped when they are absent."""
    if not (SHARED_DATA / "val").is_dir():
        pytest.skip(f"real photo set not found at {SHARED_DATA}")
    return SHARED_DATA


def write_small_copies(paths: list[Path], folder: Path, size: tuple[int, int] = (96, 80)) -> list[Path]:
    """Downscaled copies (width, height) of real photos, as PNG, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for p in paths:
        img = cv2.imread(str(p), cv2.IMREAD_COLOR)
        small = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
        dst = folder / (p.stem + ".png")
        cv2.imwrite(str(dst), small)
        out.append(dst)
    return out


@pytest.fixture
def tiny_photos(tmp_path: Path, sample_paths: list[Path]) -> Path:
    """A folder of 8 small real colour photos (96x80)."""
    write_small_copies(sample_paths[:8], tmp_path / "photos")
    return tmp_path / "photos"


TINY_DECODER = [32, 16, 16, 8, 8]


@pytest.fixture
def tiny_config(tmp_path: Path, tiny_photos: Path) -> Callable[..., Path]:
    """Writes a tiny training config (64x64, small decoder, random encoder) and returns its path.

    Keyword arguments override ``section.key`` values, e.g. ``tiny_config(**{"train.gan_epochs": 0})``.
    """

    def make(**overrides: object) -> Path:
        cfg: dict[str, dict[str, object]] = {
            "data": {"train": str(tiny_photos), "val_fraction": 0.25, "size": 64, "batch_size": 2, "workers": 0},
            "model": {"encoder_weights": "none", "decoder_channels": TINY_DECODER, "disc_channels": 8},
            "train": {"pretrain_epochs": 1, "gan_epochs": 1, "precision": "fp32", "threads": 2},
            "log": {"dir": str(tmp_path / "runs"), "name": "tiny", "every": 1, "samples": 2},
        }
        for key, value in overrides.items():
            section, name = key.split(".")
            cfg.setdefault(section, {})[name] = value
        path = tmp_path / "tiny.yaml"
        path.write_text(yaml.safe_dump(cfg))
        return path

    return make


OVERFIT_STEPS = 40


@pytest.fixture
def overfit_config(tiny_config: Callable[..., Path], tmp_path: Path, sample_paths: list[Path]) -> Callable[..., Path]:
    """A tiny config that fits 4 real 64x64 photos with L1 alone: 40 steps of 4 photos (lr 2e-3, no flips) in ONE
    epoch, whose list names the 4 photos 40 times. Sized by steps, not epochs: what an epoch adds (precise BN,
    validation, checkpoints) is paid once. Keyword arguments override as in ``tiny_config``."""
    photos = tmp_path / "four"
    names = [p.name for p in write_small_copies(sample_paths[:4], photos, (64, 64))]
    listed = tmp_path / "four.txt"  # the 4 photos first, so ``read_list(data.train)[:4]`` are the 4 photos
    listed.write_text("\n".join(f"four/{n}" for _ in range(OVERFIT_STEPS) for n in names) + "\n")
    base: dict[str, object] = {
        "data.train": str(listed),
        "data.val_fraction": 0.0,
        "data.batch_size": 4,
        "data.flip": False,
        "train.pretrain_epochs": 1,
        "train.gan_epochs": 0,
        "train.lr": 2e-3,
        "log.samples": 0,
    }
    return lambda **overrides: tiny_config(**(base | overrides))


def write_tiny_generator(
    path: Path, *, seed: int, hints: bool = False, out_channels: int = 2, head_scale: float = 1.0
) -> Path:
    """Export a tiny random generator (render size 64) to ``path``. ``head_scale`` > 1 makes its colours clearly
    visible (a random head starts near gray)."""
    from unet_resnet.export.formats import export_pt
    from unet_resnet.models.generator import UNetGenerator, model_spec

    torch.manual_seed(seed)
    G = UNetGenerator("none", TINY_DECODER, out_channels, hints=hints)
    if head_scale != 1.0:
        with torch.no_grad():
            G.head.weight.mul_(head_scale)
    path.parent.mkdir(parents=True, exist_ok=True)
    export_pt(G, model_spec(TINY_DECODER, out_channels, 64, hints=hints), path)
    return path


@pytest.fixture(scope="session")
def tiny_generator_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An exported-generator checkpoint of a small random generator (render size 64)."""
    return write_tiny_generator(tmp_path_factory.mktemp("ckpt") / "tiny_G.pt", seed=0)


def rgb_image(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A smooth random colour image, uint8 RGB (H, W, 3)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """The tiny models are fastest on one thread; two spin badly when the CPU is shared with other work.
    Use with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def vivid_ckpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random generator whose head is scaled up, so its outputs are clearly coloured (not near gray)."""
    # mean |ab| about 15 Lab units, like a trained model
    return write_tiny_generator(tmp_path_factory.mktemp("vivid") / "vivid_G.pt", seed=1, head_scale=30.0)


def torchrun(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``torchrun --standalone --nproc_per_node=2 ARGS`` with the venv's torchrun and this checkout on the path."""
    exe = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or "torchrun"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    cmd = [exe, "--standalone", "--nproc_per_node=2", *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
