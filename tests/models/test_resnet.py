"""The plain ResNet18 feature pyramid: timm's keys, shapes and outputs, so trained weights load without timm."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import timm
import torch
from conftest import TINY_DECODER

from unet_resnet.models.checkpoint import load_generator
from unet_resnet.models.generator import UNetGenerator, model_spec
from unet_resnet.models.resnet import CHANNELS, ResNet18Features


def timm_encoder() -> torch.nn.Module:
    return timm.create_model("resnet18", features_only=True, in_chans=1, out_indices=(0, 1, 2, 3, 4))


def randomised(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Every tensor of the state dict (running statistics included) set to random values, so none is default."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if t.is_floating_point():
                values = (
                    torch.rand(t.shape, generator=g) + 0.5
                    if "running_var" in name
                    else torch.randn(t.shape, generator=g) * 0.1
                )
                t.copy_(values)
    return module


def test_state_dict_keys_and_shapes_are_timms() -> None:
    ours = {k: tuple(v.shape) for k, v in ResNet18Features(1).state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in timm_encoder().state_dict().items()}
    assert ours == theirs


@pytest.mark.parametrize(("h", "w"), [(64, 64), (37, 91)])
def test_same_outputs_as_timm_with_the_same_weights(h: int, w: int) -> None:
    reference = randomised(timm_encoder(), seed=0).eval()
    plain = ResNet18Features(1).eval()
    plain.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 1, h, w)
    with torch.no_grad():
        expected, got = reference(x), plain(x)
    assert len(got) == len(expected) == 5
    assert [f.shape[1] for f in got] == list(CHANNELS) == reference.feature_info.channels()
    for i, (a, b) in enumerate(zip(got, expected, strict=True)):
        assert a.shape == b.shape, f"feature {i}"
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5, msg=f"feature {i} differs from timm's")


def test_checkpoint_trained_with_timm_loads_into_the_plain_encoder(tmp_path: Path) -> None:
    from unet_resnet.export.formats import export_pt

    torch.manual_seed(0)
    G = UNetGenerator("none", TINY_DECODER, 2)  # training's generator: timm encoder
    assert not isinstance(G.encoder, ResNet18Features)
    opt = torch.optim.SGD(G.parameters(), lr=0.05)
    for _ in range(3):  # a few real training steps: weights and BatchNorm statistics move away from their init
        opt.zero_grad()
        G(torch.rand(2, 1, 64, 64)).abs().mean().backward()
        opt.step()
    path = tmp_path / "G.pt"
    export_pt(G, model_spec(TINY_DECODER, 2, 64), path)
    loaded, _ = load_generator(path)
    assert isinstance(loaded.encoder, ResNet18Features)
    x = torch.rand(2, 1, 48, 80)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), G.eval()(x), rtol=1e-5, atol=1e-5)


def test_loading_a_generator_imports_neither_timm_nor_torchvision(tiny_generator_ckpt: Path) -> None:
    code = (
        "import sys\n"
        "from unet_resnet.inference.colorizer import Colorizer\n"
        f"Colorizer.load({str(tiny_generator_ckpt)!r}, 'cpu')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('timm', 'torchvision')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
