"""The PatchGAN discriminator: judges ``(L, ab)`` pairs patch by patch, raw logits (use BCEWithLogits)."""

from __future__ import annotations

import torch
import torch.nn as nn


class PatchDiscriminator(nn.Module):
    """C64 (no norm) - C128 - C256 - C512, each 4x4 stride 2 with BatchNorm and LeakyReLU(0.2), then a 4x4
    stride-1 conv to one channel.

    ``(L (B, 1, H, W), colour (B, C, H, W))`` -> logits ``(B, 1, H/16 - 1, W/16 - 1)``: 15x15 at 256x256, each
    logit judging a 94x94 pixel patch.
    """

    def __init__(self, in_channels: int = 3, base: int = 64, n_layers: int = 4) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        cin = in_channels
        for i in range(n_layers):
            cout = base * min(2**i, 8)
            layers.append(nn.Conv2d(cin, cout, 4, stride=2, padding=1, bias=i == 0))
            if i > 0:
                layers.append(nn.BatchNorm2d(cout))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            cin = cout
        layers.append(nn.Conv2d(cin, 1, 4, stride=1, padding=1))
        self.net = nn.Sequential(*layers)
        self._init_weights()

    def _init_weights(self) -> None:
        # pix2pix's initialisation: N(0, 0.02) convolutions, N(1, 0.02) norm scales.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, 0.0, 0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)

    def forward(self, L: torch.Tensor, colour: torch.Tensor) -> torch.Tensor:
        # A hint model's condition carries the hint map after L: the discriminator judges colour given L only.
        return self.net(torch.cat([L[:, :1], colour], dim=1))
