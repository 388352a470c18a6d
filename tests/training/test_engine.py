"""The training steps on random tensors: the adversarial gradient reaches G, D is untouched by the G step."""

from __future__ import annotations

import pytest
import torch

from unet_resnet.models.discriminator import PatchDiscriminator
from unet_resnet.models.generator import UNetGenerator
from unet_resnet.training.steps import Nets, Optim, adversarial_loss, gan_step, pretrain_step

SMALL = [32, 16, 16, 8, 8]


def make(lr: float = 2e-4) -> tuple[UNetGenerator, PatchDiscriminator, Optim, Optim]:
    torch.manual_seed(0)
    G, D = UNetGenerator("none", SMALL), PatchDiscriminator(base=8)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    opt_G = Optim(torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999)), scaler)
    opt_D = Optim(
        torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999)), torch.amp.GradScaler("cpu", enabled=False)
    )
    return G, D, opt_G, opt_D


def batch(n: int = 2, size: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 1, size, size, generator=g), torch.rand(n, 2, size, size, generator=g) * 1.2 - 0.6


def test_adversarial_gradient_reaches_generator_with_lambda_zero() -> None:
    """The original's bug (a detached fake in the G step) would leave G without any gradient here."""
    G, D, opt_G, opt_D = make()
    grads: dict[str, torch.Tensor] = {}

    class Spy(torch.optim.Adam):
        def step(self, closure=None):  # type: ignore[no-untyped-def]
            grads.update(
                {str(i): p.grad.clone() for i, p in enumerate(self.param_groups[0]["params"]) if p.grad is not None}
            )
            return super().step(closure)

    opt_G = Optim(Spy(G.parameters(), lr=2e-4, betas=(0.5, 0.999)), opt_G.scaler)
    gan_step(Nets(G, D, D, list(D.parameters())), opt_G, opt_D, [batch()], lambda_l1=0.0)
    assert grads, "the generator received no gradient at all"
    total = sum(float(g.abs().sum()) for g in grads.values())
    assert total > 0.0
    # the encoder (far from the loss) gets gradient too: it flows through D into all of G
    enc = [p.grad for p in G.encoder.parameters() if p.grad is not None]
    assert enc and sum(float(g.abs().sum()) for g in enc) > 0.0


def test_discriminator_unchanged_by_generator_half() -> None:
    G, D, opt_G, opt_D = make()
    seen: list[dict[str, torch.Tensor]] = []

    class Record(torch.optim.Adam):
        def step(self, closure=None):  # type: ignore[no-untyped-def]
            out = super().step(closure)
            seen.append({k: v.detach().clone() for k, v in D.named_parameters()})
            return out

    opt_D = Optim(Record(D.parameters(), lr=2e-4, betas=(0.5, 0.999)), opt_D.scaler)
    before = {k: v.detach().clone() for k, v in D.named_parameters()}
    gan_step(Nets(G, D, D, list(D.parameters())), opt_G, opt_D, [batch()], lambda_l1=100.0)
    after = dict(D.named_parameters())
    assert len(seen) == 1
    # D changed in its own step...
    assert any(not torch.equal(before[k], seen[0][k]) for k in before)
    # ...and not at all afterwards, in the generator's step
    for k, v in after.items():
        assert torch.equal(v, seen[0][k]), f"D parameter {k} changed during the generator step"
    assert all(p.requires_grad for p in D.parameters()), "D must be trainable again after the step"


def test_generator_step_uses_updated_discriminator_and_returns_stats() -> None:
    G, D, opt_G, opt_D = make()
    stats = gan_step(Nets(G, D, D, list(D.parameters())), opt_G, opt_D, [batch()], lambda_l1=100.0)
    for key in ("loss_D", "loss_G", "adv", "l1", "D_real", "D_fake"):
        assert torch.isfinite(stats[key]), key
    assert float(stats["loss_G"]) == pytest.approx(float(stats["adv"] + 100.0 * stats["l1"]), rel=1e-5)


def test_pretrain_steps_lower_l1() -> None:
    G, _, opt_G, _ = make(lr=1e-3)
    L, _ = batch(seed=1)
    data = [(L, torch.cat([L - 0.5, 0.5 - L], dim=1))]  # a target the generator can learn
    first = float(pretrain_step(G, opt_G, data)["l1"])
    for _ in range(15):
        last = float(pretrain_step(G, opt_G, data)["l1"])
    assert last < 0.8 * first


def test_accumulation_matches_one_big_batch_gradient() -> None:
    """Two micro-batches of 2 give the same L1 gradient as one batch of 4 (BatchNorm in eval: batch-independent)."""
    L, ab = batch(n=4, seed=3)
    grads = []
    for micro in ([(L, ab)], [(L[:2], ab[:2]), (L[2:], ab[2:])]):
        G, _, opt_G, _ = make()
        G.eval()
        captured: list[torch.Tensor] = []

        class Capture(torch.optim.SGD):
            def step(self, closure=None, out=captured, model=G):  # type: ignore[no-untyped-def]
                out.append(torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]))

        opt = Optim(Capture(G.parameters(), lr=0.0), opt_G.scaler)
        pretrain_step(G, opt, micro)
        grads.append(captured[0])
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-4, atol=1e-6)


def test_gan_step_with_accumulation_runs() -> None:
    G, D, opt_G, opt_D = make()
    stats = gan_step(Nets(G, D, D, list(D.parameters())), opt_G, opt_D, [batch(seed=1), batch(seed=2)])
    assert all(torch.isfinite(v) for v in stats.values())


@pytest.mark.parametrize("kind", ["bce", "lsgan"])
def test_adversarial_loss_targets(kind: str) -> None:
    confident_real = torch.full((1, 1, 3, 3), 8.0) if kind == "bce" else torch.ones(1, 1, 3, 3)
    assert float(adversarial_loss(confident_real, True, kind)) < 1e-3
    assert float(adversarial_loss(confident_real, False, kind)) > 0.9


def test_bf16_autocast_on_cpu_gives_finite_losses() -> None:
    G, D, opt_G, opt_D = make()

    def ctx():  # type: ignore[no-untyped-def]
        return torch.autocast("cpu", dtype=torch.bfloat16)

    s1 = pretrain_step(G, opt_G, [batch()], ctx)
    s2 = gan_step(Nets(G, D, D, list(D.parameters())), opt_G, opt_D, [batch()], autocast=ctx)
    assert torch.isfinite(s1["l1"]) and all(torch.isfinite(v) for v in s2.values())
