"""The training steps on random tensors: the adversarial gradient reaches G, D is untouched by the G step."""

from __future__ import annotations

import copy

import pytest
import torch

from unet_resnet.models.discriminator import PatchDiscriminator
from unet_resnet.models.generator import UNetGenerator
from unet_resnet.training.steps import Nets, Optim, adversarial_loss, gan_step, no_autocast, pretrain_step

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


def test_generator_half_goes_through_the_updated_discriminator() -> None:
    """The adversarial loss the G half reports is D-after-its-update on the fake, not D-before."""
    G, D, opt_G, opt_D = make(lr=1e-2)  # a large step, so D before and after its update score the fake apart
    cond, target = batch()
    G_before, D_before = copy.deepcopy(G), copy.deepcopy(D)
    stats = gan_step(Nets(G, D, D, list(D.parameters())), opt_G, opt_D, [(cond, target)], lambda_l1=100.0)
    with torch.no_grad():
        fake = G_before(cond)  # the fake of the step (training mode: BatchNorm on the batch, as in the step)
        updated = adversarial_loss(copy.deepcopy(D)(cond, fake), True)
        stale = adversarial_loss(D_before(cond, fake), True)
    assert abs(float(updated) - float(stale)) > 1e-3, "the test cannot tell the two discriminators apart"
    assert float(stats["adv"]) == pytest.approx(float(updated), rel=1e-5)
    assert float(stats["loss_G"]) == pytest.approx(float(stats["adv"] + 100.0 * stats["l1"]), rel=1e-5)


def test_pretrain_steps_lower_l1() -> None:
    G, _, opt_G, _ = make(lr=1e-3)
    L, _ = batch(seed=1)
    data = [(L, torch.cat([L - 0.5, 0.5 - L], dim=1))]  # a target the generator can learn
    first = float(pretrain_step(G, opt_G, data)["l1"])
    for _ in range(15):
        last = float(pretrain_step(G, opt_G, data)["l1"])
    assert last < 0.8 * first


class Capture(torch.optim.SGD):
    """An optimizer that records the gradients it is given and changes nothing."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__(model.parameters(), lr=0.0)
        self.model, self.grads = model, torch.empty(0)

    def step(self, closure=None):  # type: ignore[no-untyped-def]
        self.grads = torch.cat([p.grad.flatten() for p in self.model.parameters() if p.grad is not None])


def accumulated_grads(kind: str, micro: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, ...]:
    """G's (and D's) gradients of one step over ``micro``. BatchNorm is in evaluation mode: in training mode a
    batch of 4 is normalised by other statistics than two of 2, and no accumulation can make those equal."""
    G, D, opt_G, opt_D = make()
    G.eval(), D.eval()
    cap_G, cap_D = Capture(G), Capture(D)
    off = torch.amp.GradScaler("cpu", enabled=False)
    if kind == "pretrain":
        pretrain_step(G, Optim(cap_G, off), micro)
        return (cap_G.grads,)
    gan_step(Nets(G, D, D, list(D.parameters())), Optim(cap_G, off), Optim(cap_D, off), micro, lambda_l1=10.0)
    return cap_G.grads, cap_D.grads


@pytest.mark.parametrize("kind", ["pretrain", "gan"])
def test_two_micro_batches_give_the_gradients_of_one_batch_twice_the_size(kind: str) -> None:
    L, ab = batch(n=4, seed=3)
    whole = accumulated_grads(kind, [(L, ab)])
    halves = accumulated_grads(kind, [(L[:2], ab[:2]), (L[2:], ab[2:])])
    for a, b in zip(whole, halves, strict=True):
        assert a.abs().sum() > 0
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("kind", ["bce", "lsgan"])
def test_adversarial_loss_targets(kind: str) -> None:
    confident_real = torch.full((1, 1, 3, 3), 8.0) if kind == "bce" else torch.ones(1, 1, 3, 3)
    assert float(adversarial_loss(confident_real, True, kind)) < 1e-3
    assert float(adversarial_loss(confident_real, False, kind)) > 0.9


def test_bf16_steps_compute_in_bf16_and_follow_the_fp32_gradients() -> None:
    """Under CPU bf16 autocast the convolutions run in bf16, and the gradients point where fp32's do."""
    L, ab = batch(n=4, seed=5)
    dtypes: list[torch.dtype] = []
    grads = {}
    for name, ctx in (("fp32", no_autocast), ("bf16", lambda: torch.autocast("cpu", dtype=torch.bfloat16))):
        G, D, _, _ = make()
        G.encoder.conv1.register_forward_hook(lambda m, i, o: dtypes.append(o.dtype))  # type: ignore[union-attr]
        cap_G, cap_D = Capture(G), Capture(D)
        off = torch.amp.GradScaler("cpu", enabled=False)
        gan_step(Nets(G, D, D, list(D.parameters())), Optim(cap_G, off), Optim(cap_D, off), [(L, ab)], autocast=ctx)
        grads[name] = (cap_G.grads, cap_D.grads)
    assert dtypes[0] == torch.float32 and dtypes[-1] == torch.bfloat16
    for exact, low in zip(grads["fp32"], grads["bf16"], strict=True):
        assert torch.nn.functional.cosine_similarity(exact, low, dim=0) > 0.98
