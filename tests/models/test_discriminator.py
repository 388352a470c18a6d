"""The PatchGAN: 15x15 raw logits at 256x256."""

from __future__ import annotations

import torch

from unet_resnet.models.discriminator import PatchDiscriminator


def test_patch_logits_at_256() -> None:
    D = PatchDiscriminator()
    out = D(torch.rand(2, 1, 256, 256), torch.rand(2, 2, 256, 256) * 2 - 1)
    assert out.shape == (2, 1, 15, 15)


def test_logits_are_raw_not_probabilities() -> None:
    torch.manual_seed(0)
    D = PatchDiscriminator()
    with torch.no_grad():
        D.net[-1].bias.fill_(3.0)
    out = D(torch.rand(2, 1, 64, 64), torch.rand(2, 2, 64, 64))
    assert float(out.detach().max()) > 1.0  # no sigmoid inside


def test_first_layer_has_no_norm_the_others_do() -> None:
    D = PatchDiscriminator()
    layers = list(D.net)
    assert isinstance(layers[0], torch.nn.Conv2d) and isinstance(layers[1], torch.nn.LeakyReLU)
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in layers) == 3
