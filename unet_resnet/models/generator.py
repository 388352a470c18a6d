"""The generator: a U-Net whose encoder is timm's ResNet18 (1-channel stem) and whose decoder is written here.

Training builds the encoder with timm (:func:`build_encoder`, where pretrained weights come from). A generator
rebuilt from a checkpoint or an export (:func:`generator_from_spec`, used by inference) puts the same weights on
:class:`unet_resnet.models.resnet.ResNet18Features`, an architecture-identical plain-PyTorch module, so loading a
model never imports timm or torchvision (about two seconds of start-up).

Encoder features (``features_only=True``): 64, 64, 128, 256, 512 channels at strides 2, 4, 8, 16, 32. Each decoder
block upsamples to the exact size of its skip (so odd sizes work), concatenates, and applies two conv-BN-ReLU. The
last block works at full resolution with the input L itself as its skip. The head bounds the output to ``[-1, 1]``.

A hint model (``hints=True``) takes 3 more input channels after L (hint ab and mask,
:mod:`unet_resnet.data.hints`): the stem has 4 input channels (with pretrained weights, the L kernels are timm's
summed RGB kernels and the hint kernels start at zero, so it computes exactly what the 1-channel stem computes until
training changes them), and the full-resolution decoder block sees the hints beside L.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import torch
import torch.nn as nn
import torch.nn.functional as F

from unet_resnet.models.resnet import CHANNELS, ResNet18Features

log = logging.getLogger(__name__)

HINT_CHANNELS = 3
"""Extra input channels of a hint model: hint a, hint b, hint mask (the layout of :mod:`unet_resnet.data.hints`)."""

ENCODER = "resnet18"
# Grayscale statistics of the ImageNet normalisation: the stem's summed RGB kernels expect inputs of this scale.
INPUT_MEAN, INPUT_STD = 0.449, 0.226


class EncoderWeightsError(RuntimeError):
    """The encoder's weights could not be loaded; the message says which source failed and what to do."""


def build_encoder(weights: str) -> nn.Module:
    """timm ResNet18 feature pyramid with a 1-channel stem.

    ``weights``: ``"imagenet"`` (timm's hub weights, downloaded once by timm), ``"auto"``
    (:mod:`unet_resnet.models.imagenet`), ``"none"`` (random init) or a path to a local ``.pth`` /
    ``.safetensors`` state dict of a timm ``resnet18``. Pretrained 3-channel stems are summed into one channel by
    timm.
    """
    import timm  # here, not at the top: inference builds the plain encoder and never pays timm's import

    kwargs: dict[str, Any] = {"features_only": True, "in_chans": 1, "out_indices": (0, 1, 2, 3, 4)}
    if weights == "auto":  # ImageNet when cached or quickly downloadable, else random (one log line says which)
        from unet_resnet.models.imagenet import auto_encoder_weights

        weights, _ = auto_encoder_weights()
    if weights == "none":
        return timm.create_model(ENCODER, pretrained=False, **kwargs)
    if weights == "imagenet":
        try:
            return timm.create_model(ENCODER, pretrained=True, **kwargs)
        except Exception as exc:  # hub errors come in many types (network, auth, missing file)
            raise EncoderWeightsError(
                f"could not fetch the ImageNet weights of {ENCODER} through timm ({type(exc).__name__}: {exc}). "
                "Without network access, set model.encoder_weights to a local .pth/.safetensors file, "
                "or to 'none' to train from random weights."
            ) from exc
    path = Path(weights).expanduser()
    if not path.is_file():
        raise EncoderWeightsError(f"model.encoder_weights is {weights!r}: not 'imagenet', not 'none', and no such file")
    stem = _check_weight_file(path)
    try:
        encoder = timm.create_model(ENCODER, pretrained=True, pretrained_cfg_overlay={"file": str(path)}, **kwargs)
    except Exception as exc:
        raise EncoderWeightsError(
            f"{path}: not a state dict of a timm {ENCODER} ({type(exc).__name__}: {exc})"
        ) from exc
    # timm loads non-strictly with features_only: make sure the weights really arrived.
    loaded = cast(torch.Tensor, encoder.get_submodule("conv1").weight)
    if not torch.allclose(loaded, stem.sum(dim=1, keepdim=True)):
        raise EncoderWeightsError(f"{path}: the encoder's stem did not load from this file")
    return encoder


REQUIRED_KEYS = ("conv1.weight", "bn1.running_mean", "layer1.0.conv1.weight", "layer4.1.conv2.weight")


def _check_weight_file(path: Path) -> torch.Tensor:
    """Open a local weight file safely and check it is a flat ResNet18 state dict; returns its stem kernel."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise EncoderWeightsError(f"{path}: cannot be read as a weight file ({type(exc).__name__}: {exc})") from exc
    missing = [k for k in REQUIRED_KEYS if not isinstance(state, dict) or k not in state]
    if missing:
        raise EncoderWeightsError(
            f"{path}: not a state dict of a timm {ENCODER} (missing {', '.join(missing)}); save one with "
            f"torch.save(timm.create_model('{ENCODER}', pretrained=True).state_dict(), PATH)"
        )
    stem = state["conv1.weight"]
    if stem.shape[0] != 64 or tuple(stem.shape[2:]) != (7, 7):
        raise EncoderWeightsError(f"{path}: conv1.weight has shape {tuple(stem.shape)}, not a {ENCODER} stem")
    return stem.float()


def widen_stem(encoder: nn.Module, extra: int) -> None:
    """Give the encoder's 1-channel stem ``extra`` more input channels with zero kernels (in place)."""
    old = cast(nn.Conv2d, encoder.get_submodule("conv1"))
    kernel, stride, padding = cast(Any, old.kernel_size), cast(Any, old.stride), cast(Any, old.padding)
    new = nn.Conv2d(old.in_channels + extra, old.out_channels, kernel, stride, padding, bias=old.bias is not None)
    with torch.no_grad():
        new.weight.zero_()
        new.weight[:, : old.in_channels] = old.weight
        if old.bias is not None and new.bias is not None:
            new.bias.copy_(old.bias)
    encoder.conv1 = new


def conv_bn_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class DecoderBlock(nn.Module):
    """Upsample (nearest) to the skip's size, concatenate, two conv-BN-ReLU."""

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = conv_bn_relu(in_channels + skip_channels, out_channels)
        self.conv2 = conv_bn_relu(out_channels, out_channels)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="nearest")
        return self.conv2(self.conv1(torch.cat([x, skip], dim=1)))


class UNetGenerator(nn.Module):
    """``L (B, 1, H, W)`` in ``[0, 1]`` -> ``(B, out_channels, H, W)`` in ``[-1, 1]`` for any ``H, W >= 2``.

    A hint model takes ``(B, 4, H, W)``: L, then the hint map; given L alone, it colorizes without hints (the hint
    channels are zero).

    ``out_channels`` is 2 (ab) for colorization, 3 (L, a, b with L mapped to ``[-1, 1]`` as ``2 L - 1``) for
    restoration, where the L channel is the input plus a learned correction.

    ``encoder``: a ResNet18 feature pyramid to use instead of timm's (``encoder_weights`` is then ignored), e.g.
    :class:`ResNet18Features` for loading weights without importing timm.
    """

    def __init__(
        self,
        encoder_weights: str = "none",
        decoder_channels: Sequence[int] = (256, 128, 64, 32, 16),
        out_channels: int = 2,
        encoder: nn.Module | None = None,
        hints: bool = False,
    ) -> None:
        super().__init__()
        if len(decoder_channels) != 5:
            raise ValueError(f"decoder_channels needs 5 widths, got {list(decoder_channels)}")
        self.hints = hints
        self.in_channels = 1 + (HINT_CHANNELS if hints else 0)
        if encoder is None:
            encoder = build_encoder(encoder_weights)
            if hints:
                widen_stem(encoder, HINT_CHANNELS)
        self.encoder = encoder
        stem = cast(nn.Conv2d, self.encoder.get_submodule("conv1"))
        if stem.in_channels != self.in_channels:
            raise ValueError(
                f"the encoder takes {stem.in_channels} input channels; this generator needs {self.in_channels}"
            )
        enc = list(CHANNELS)  # [64, 64, 128, 256, 512], timm's feature_info.channels() for resnet18
        # stride 16, 8, 4, 2 features, then the input itself (L, and the hints) at full resolution
        skips = [*enc[-2::-1], self.in_channels]
        ins = [enc[-1], *decoder_channels[:-1]]
        self.blocks = nn.ModuleList(
            DecoderBlock(i, s, o) for i, s, o in zip(ins, skips, decoder_channels, strict=False)
        )
        self.head = nn.Conv2d(decoder_channels[-1], out_channels, kernel_size=3, padding=1)
        self.out_channels = out_channels
        self._init_decoder()

    def _init_decoder(self) -> None:
        """Initialise the decoder and head only: the encoder keeps its (possibly pretrained) weights."""
        for m in [*self.blocks.modules(), self.head]:
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        # A small head starts predictions near 0 (gray), the L1-optimal guess before any training.
        nn.init.normal_(self.head.weight, std=1e-3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] not in (1, self.in_channels):
            expected = "(B, 1, H, W) L, or (B, 4, H, W) L and hints" if self.hints else "(B, 1, H, W) L"
            hint = "" if self.hints or x.dim() != 4 else " (this model does not take hints)"
            raise ValueError(f"the generator expects {expected}, got {tuple(x.shape)}{hint}")
        if min(x.shape[-2:]) < 2:
            raise ValueError(f"the generator needs H and W of at least 2, got {tuple(x.shape[-2:])}")
        if x.shape[1] < self.in_channels:  # a hint model without hints: colorize automatically
            x = torch.cat([x, x.new_zeros(x.shape[0], self.in_channels - 1, *x.shape[-2:])], dim=1)
        L = x[:, :1]
        feats = self.encoder(torch.cat([(L - INPUT_MEAN) / INPUT_STD, x[:, 1:]], dim=1))
        h = feats[-1]
        for block, skip in zip(self.blocks, [*feats[-2::-1], x], strict=False):
            h = block(h, skip)
        y = self.head(h)
        if self.out_channels == 3:
            # Restoration: L is predicted as a correction of the input, so an untrained model starts as the identity
            # and learns only to remove the damage.
            return torch.cat([((2.0 * L - 1.0) + y[:, :1]).clamp(-1.0, 1.0), torch.tanh(y[:, 1:])], dim=1)
        return torch.tanh(y)


def model_spec(decoder_channels: Sequence[int], out_channels: int, size: int, hints: bool = False) -> dict[str, Any]:
    """What a checkpoint needs to rebuild the generator (plain types only); ``hints``: it takes colour hints."""
    return {
        "arch": "unet_resnet18",
        "decoder_channels": [int(c) for c in decoder_channels],
        "out_channels": int(out_channels),
        "size": int(size),
        "hints": bool(hints),
    }


def generator_from_spec(spec: dict[str, Any]) -> UNetGenerator:
    """An untrained generator of the architecture ``spec`` describes (weights come from a checkpoint).

    Its encoder is the plain :class:`ResNet18Features` (same keys and outputs as timm's), so no timm import.
    """
    if spec.get("arch") != "unet_resnet18":
        raise ValueError(f"unknown generator architecture {spec.get('arch')!r} (expected 'unet_resnet18')")
    hints = bool(spec.get("hints", False))
    encoder = ResNet18Features(in_chans=1 + (HINT_CHANNELS if hints else 0))
    return UNetGenerator("none", spec["decoder_channels"], spec["out_channels"], encoder=encoder, hints=hints)
