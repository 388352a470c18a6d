"""A plain-PyTorch ResNet18 feature pyramid, architecture-identical to timm's, for loading a generator quickly.

Training builds the U-Net's encoder with timm (``timm.create_model("resnet18", features_only=True, in_chans=1)``,
see :func:`unet_resnet.models.generator.build_encoder`), which is where pretrained weights come from. Importing
timm costs about two seconds (it pulls in torchvision), which a user pays at every ``infer.py`` start. Inference
needs only the forward pass, so a generator loaded from a checkpoint or an export reuses the same weights on this
module instead: the same layers (stem ``conv1``/``bn1``/ReLU/max-pool, ``layer1`` .. ``layer4`` of two BasicBlocks
each), the same state-dict keys and shapes, and the same five outputs. The tests check keys, shapes and outputs
against timm, and that a checkpoint trained with the timm encoder loads here.
"""

from __future__ import annotations

import torch
import torch.nn as nn

CHANNELS = (64, 64, 128, 256, 512)
"""Channels of the five features (stem, layer1 .. layer4) at strides 2, 4, 8, 16, 32."""


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN with a residual connection (a 1x1 conv-BN on the shortcut when the shape changes)."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.act1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.act2 = nn.ReLU(inplace=True)
        self.downsample: nn.Module | None = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        y = self.bn2(self.conv2(self.act1(self.bn1(self.conv1(x)))))
        return self.act2(y + shortcut)


class ResNet18Features(nn.Module):
    """``x (B, in_chans, H, W)`` -> five features ``(B, C_i, ceil(H / s_i), ceil(W / s_i))``.

    ``C_i`` = :data:`CHANNELS`, ``s_i`` = 2, 4, 8, 16, 32: the stem after its ReLU, then each of the four stages.
    """

    def __init__(self, in_chans: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_chans, CHANNELS[0], 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(CHANNELS[0])
        self.act1 = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._stage(CHANNELS[0], CHANNELS[1], 1)
        self.layer2 = self._stage(CHANNELS[1], CHANNELS[2], 2)
        self.layer3 = self._stage(CHANNELS[2], CHANNELS[3], 2)
        self.layer4 = self._stage(CHANNELS[3], CHANNELS[4], 2)

    @staticmethod
    def _stage(cin: int, cout: int, stride: int) -> nn.Sequential:
        return nn.Sequential(BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        stem = self.act1(self.bn1(self.conv1(x)))
        f1 = self.layer1(self.maxpool(stem))
        f2 = self.layer2(f1)
        f3 = self.layer3(f2)
        return [stem, f1, f2, f3, self.layer4(f3)]
