"""A hint generator: the 4-channel stem from pretrained weights, hints optional, the spec records them."""

from __future__ import annotations

from pathlib import Path

import pytest
import timm
import torch

from unet_resnet.models.generator import UNetGenerator, generator_from_spec, model_spec

SMALL = [32, 16, 16, 8, 8]


@pytest.fixture(scope="module")
def weight_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, torch.Tensor]]:
    torch.manual_seed(3)
    state = timm.create_model("resnet18", pretrained=False).state_dict()
    path = tmp_path_factory.mktemp("w") / "resnet18.pth"
    torch.save(state, path)
    return path, state


def test_stem_keeps_summed_rgb_kernels_and_zero_hint_kernels(weight_file: tuple[Path, dict]) -> None:
    path, state = weight_file
    G = UNetGenerator(str(path), SMALL, hints=True)
    stem = G.encoder.conv1.weight
    assert stem.shape == (64, 4, 7, 7)
    torch.testing.assert_close(stem[:, :1], state["conv1.weight"].sum(dim=1, keepdim=True))
    assert torch.count_nonzero(stem[:, 1:]) == 0
    torch.testing.assert_close(G.encoder.layer4[1].conv2.weight, state["layer4.1.conv2.weight"])


def test_pretrained_hint_encoder_computes_what_the_plain_one_does(weight_file: tuple[Path, dict]) -> None:
    path, _ = weight_file
    plain = UNetGenerator(str(path), SMALL).eval()
    hinted = UNetGenerator(str(path), SMALL, hints=True).eval()
    x = torch.rand(2, 1, 64, 64)
    hints = torch.zeros(2, 3, 64, 64)
    hints[:, :, 10:13, 20:23] = torch.tensor([0.3, -0.2, 1.0])[None, :, None, None]  # a hint: zero kernels ignore it
    with torch.no_grad():
        a = plain.encoder((x - 0.449) / 0.226)
        b = hinted.encoder(torch.cat([(x - 0.449) / 0.226, hints], dim=1))
    for fa, fb in zip(a, b, strict=True):
        torch.testing.assert_close(fa, fb)


def test_hints_are_optional_and_change_the_output() -> None:
    torch.manual_seed(0)
    G = UNetGenerator("none", SMALL, hints=True).eval()
    L = torch.rand(1, 1, 40, 56)
    hints = torch.zeros(1, 3, 40, 56)
    with torch.no_grad():
        automatic = G(L)
        torch.testing.assert_close(G(torch.cat([L, hints], dim=1)), automatic)
        hints[:, :, 5:8, 5:8] = torch.tensor([0.5, 0.5, 1.0])[None, :, None, None]
        assert not torch.allclose(G(torch.cat([L, hints], dim=1)), automatic)


def test_plain_model_refuses_hints() -> None:
    G = UNetGenerator("none", SMALL)
    with pytest.raises(ValueError, match="does not take hints"):
        G(torch.rand(1, 4, 64, 64))


def test_spec_records_hints_and_rebuilds_them() -> None:
    spec = model_spec(SMALL, 2, 64, hints=True)
    assert spec["hints"] is True
    assert generator_from_spec(spec).in_channels == 4
    old = {k: v for k, v in model_spec(SMALL, 2, 64).items() if k != "hints"}  # written before hints existed
    assert generator_from_spec(old).in_channels == 1


def test_restoration_with_hints() -> None:
    G = UNetGenerator("none", SMALL, out_channels=3, hints=True).eval()
    assert G(torch.rand(1, 4, 64, 64)).shape == (1, 3, 64, 64)
