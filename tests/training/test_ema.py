"""The EMA of the generator: its update rule, checkpoint entries, and that export and loading hand out the EMA."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn as nn

from unet_resnet.export.formats import export
from unet_resnet.models import checkpoint as ckpt_io
from unet_resnet.models.generator import UNetGenerator, model_spec
from unet_resnet.training import ema as ema_io
from unet_resnet.training.ema import GeneratorEMA

SMALL = [32, 16, 16, 8, 8]


def tiny_net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))


def test_update_follows_the_warmed_up_decay_and_copies_buffers() -> None:
    net = tiny_net()
    ema = GeneratorEMA(net, decay=0.999)
    start = [p.detach().clone() for p in ema.module.parameters()]
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
        net[1].running_mean.fill_(3.0)
    assert ema.current_decay() == 0.1  # (1 + 0) / (10 + 0): the first update mostly takes the new weights
    ema.update(net)
    for e, s, p in zip(ema.module.parameters(), start, net.parameters(), strict=True):
        torch.testing.assert_close(e, 0.1 * s + 0.9 * p)
    assert torch.equal(ema.module[1].running_mean, torch.full((2,), 3.0))
    assert ema.updates == 1 and abs(ema.current_decay() - 2 / 11) < 1e-12
    ema.updates = 10_000
    assert ema.current_decay() == 0.999  # a long run reaches the configured decay


def test_ema_is_a_frozen_independent_copy() -> None:
    net = tiny_net()
    ema = GeneratorEMA(net, decay=0.9)
    assert not any(p.requires_grad for p in ema.module.parameters()) and not ema.module.training
    with torch.no_grad():
        next(net.parameters()).add_(5.0)
    assert not torch.equal(next(net.parameters()), next(ema.module.parameters()))


def test_checkpoint_entries_round_trip_and_a_run_without_ema_starts_one() -> None:
    net, other = tiny_net(), tiny_net()
    ema = GeneratorEMA(net, decay=0.99)
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(-2.0)
    ema.update(net)
    ema.update(net)
    entries = ema_io.checkpoint_entries(ckpt_io.state_dict_of(net), ema)
    assert entries[ema_io.UPDATES_KEY] == 2
    restored_ema = GeneratorEMA(other, decay=0.99)
    ema_io.restore(other, restored_ema, entries)
    assert restored_ema.updates == 2
    for a, b in zip(other.state_dict().values(), net.state_dict().values(), strict=True):
        assert torch.equal(a, b)  # the training weights go back into the trained model
    for a, b in zip(restored_ema.module.state_dict().values(), ema.module.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    # a checkpoint written without an EMA: the average starts from its weights
    plain = ema_io.checkpoint_entries(ckpt_io.state_dict_of(net), None)
    assert set(plain) == {"generator"}
    fresh = GeneratorEMA(tiny_net(), decay=0.99)
    ema_io.restore(tiny_net(), fresh, plain)
    assert fresh.updates == 0 and torch.equal(next(fresh.module.parameters()), next(net.parameters()))


def test_a_model_whose_ema_differs_from_its_last_weights_exports_the_ema(tmp_path: Path) -> None:
    torch.manual_seed(0)
    G = UNetGenerator("none", SMALL)
    ema = GeneratorEMA(G, decay=0.5)
    with torch.no_grad():
        for p in G.parameters():
            p.add_(0.05 * torch.randn_like(p))
    ema.update(G)  # the EMA is now halfway between the start and the last weights
    spec = model_spec(SMALL, 2, 64)
    ckpt = tmp_path / "last.pt"
    state = {"format_version": ckpt_io.FORMAT_VERSION, "kind": "training", "model": spec}
    ckpt_io.save_atomic(state | ema_io.checkpoint_entries(ckpt_io.state_dict_of(G), ema), ckpt)

    x = torch.rand(1, 1, 64, 64)
    G.eval()
    with torch.no_grad():
        want, last = ema.module(x), G(x)
    assert not torch.allclose(want, last, atol=1e-4)
    loaded, _ = ckpt_io.load_generator(ckpt)
    exported_G, _ = export(ckpt, tmp_path / "G.pt")
    reloaded, _ = ckpt_io.load_generator(tmp_path / "G.pt")
    with torch.no_grad():
        for model in (loaded, exported_G, reloaded):
            torch.testing.assert_close(model(x), want)
