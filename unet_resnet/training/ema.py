"""An exponential moving average (EMA) of the generator's weights: the weights a run hands to users.

GAN training moves the generator's weights in a noisy orbit; their running average is a smoother, usually better
model than the last iterate (Karras et al. 2018; Yazici et al. 2019). With ``train.ema_decay > 0`` the average is
what validation scores, what ``best.pt`` is chosen by, and what checkpoints store under ``"generator"`` (so
export, ``load_generator`` and inference use it); the raw training weights go to ``"generator_train"`` for resume.

The decay is warmed up as ``min(decay, (1 + n) / (10 + n))`` after ``n`` updates, so a short run is not an average
dominated by its random initial weights, and a long run reaches ``decay``.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn as nn

TRAIN_KEY = "generator_train"
"""Checkpoint key of the raw training weights when an EMA is kept (``"generator"`` holds the EMA)."""
UPDATES_KEY = "ema_updates"


class GeneratorEMA:
    """A frozen copy of ``model`` whose parameters follow ``p_ema <- d p_ema + (1 - d) p`` after every step.

    Buffers (BatchNorm running statistics) are copied, not averaged: they describe the activations of the current
    weights, and a copy is what the averaged weights are closest to.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}; set train.ema_decay=0 to turn the EMA off")
        self.decay = decay
        self.updates = 0
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)

    def current_decay(self) -> float:
        """The decay the next update uses (warmed up over the first updates)."""
        return min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the average towards ``model``'s weights (call after each optimizer step of the generator)."""
        d = self.current_decay()
        ema_params: list[torch.Tensor] = list(self.module.parameters())
        params = [p.detach().to(e.dtype) for p, e in zip(model.parameters(), ema_params, strict=True)]
        torch._foreach_lerp_(ema_params, params, 1.0 - d)
        for e, b in zip(self.module.buffers(), model.buffers(), strict=True):
            e.copy_(b)
        self.updates += 1

    def load(self, state: dict[str, torch.Tensor], updates: int) -> None:
        self.module.load_state_dict(state)
        self.updates = updates


def checkpoint_entries(G_state: dict[str, torch.Tensor], ema: GeneratorEMA | None) -> dict[str, Any]:
    """The generator entries of a training checkpoint: the EMA under ``"generator"`` (what users get) and the
    training weights under :data:`TRAIN_KEY`; without an EMA, the training weights under ``"generator"``."""
    if ema is None:
        return {"generator": G_state}
    ema_state = {k: v.detach().cpu() for k, v in ema.module.state_dict().items()}
    return {"generator": ema_state, TRAIN_KEY: G_state, UPDATES_KEY: ema.updates, "ema_decay": ema.decay}


def restore(G: nn.Module, ema: GeneratorEMA | None, state: dict[str, Any]) -> None:
    """Load a training checkpoint's generator entries into ``G`` (and ``ema``), whatever EMA setting wrote them.

    A run started without an EMA and resumed with one starts its average from the training weights.
    """
    trained = state.get(TRAIN_KEY, state["generator"])
    G.load_state_dict(trained)
    if ema is None:
        return
    if TRAIN_KEY in state:
        ema.load(state["generator"], int(state.get(UPDATES_KEY, 0)))
    else:
        ema.load(trained, 0)
