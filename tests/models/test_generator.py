"""The generator: any size in, same size out, bounded output, encoder weights from config, never the network."""

from __future__ import annotations

from pathlib import Path

import pytest
import timm
import torch

from unet_resnet.models.generator import EncoderWeightsError, UNetGenerator, build_encoder

SMALL = [32, 16, 16, 8, 8]


@pytest.mark.parametrize(("h", "w"), [(64, 64), (256, 256), (250, 333), (37, 91)])
def test_output_has_input_size_and_is_bounded(h: int, w: int) -> None:
    torch.manual_seed(0)
    G = UNetGenerator("none", SMALL).eval()
    L = torch.rand(2, 1, h, w)
    with torch.no_grad():
        out = G(L)
    assert out.shape == (2, 2, h, w)
    assert float(out.abs().max()) <= 1.0


def test_default_decoder_trains_at_odd_size() -> None:
    G = UNetGenerator("none")
    out = G(torch.rand(2, 1, 65, 97))
    out.mean().backward()
    assert out.shape == (2, 2, 65, 97)
    assert G.head.weight.grad is not None and float(G.head.weight.grad.abs().sum()) > 0


def test_restoration_generator_has_three_outputs() -> None:
    G = UNetGenerator("none", SMALL, out_channels=3).eval()
    assert G(torch.rand(1, 1, 64, 64)).shape == (1, 3, 64, 64)


def test_bad_input_shape_is_a_clear_error() -> None:
    G = UNetGenerator("none", SMALL)
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\)"):
        G(torch.rand(1, 3, 64, 64))


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_encoder_weights_from_local_file_sum_rgb_stem(tmp_path: Path, suffix: str) -> None:
    torch.manual_seed(1)
    state = timm.create_model("resnet18", pretrained=False).state_dict()
    path = tmp_path / f"resnet18{suffix}"
    if suffix == ".pth":
        torch.save(state, path)
    else:
        from safetensors.torch import save_file

        save_file(state, str(path))
    G = UNetGenerator(str(path), SMALL)
    torch.testing.assert_close(G.encoder.conv1.weight, state["conv1.weight"].sum(dim=1, keepdim=True))
    torch.testing.assert_close(G.encoder.layer4[1].conv2.weight, state["layer4.1.conv2.weight"])


def test_pretrained_encoder_is_not_reinitialised(tmp_path: Path) -> None:
    state = timm.create_model("resnet18", pretrained=False).state_dict()
    path = tmp_path / "r18.pth"
    torch.save(state, path)
    a, b = UNetGenerator(str(path), SMALL), UNetGenerator(str(path), SMALL)
    for (name, pa), pb in zip(a.encoder.state_dict().items(), b.encoder.state_dict().values(), strict=True):
        torch.testing.assert_close(pa, pb, msg=f"encoder tensor {name} differs between two loads")


def test_none_gives_random_weights() -> None:
    torch.manual_seed(0)
    a = build_encoder("none")
    torch.manual_seed(1)
    b = build_encoder("none")
    assert not torch.equal(a.conv1.weight, b.conv1.weight)
    assert a.conv1.weight.shape == (64, 1, 7, 7)


def test_missing_weight_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EncoderWeightsError, match="no such file"):
        build_encoder(str(tmp_path / "missing.pth"))


def test_not_a_state_dict_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pth"
    torch.save({"something": torch.zeros(3)}, bad)
    with pytest.raises(EncoderWeightsError, match="bad.pth"):
        build_encoder(str(bad))


def test_imagenet_offline_fails_with_advice() -> None:
    # The test session forbids the network (conftest), so timm's hub download must fail; the message says what to do.
    with pytest.raises(EncoderWeightsError, match="encoder_weights"):
        build_encoder("imagenet")
