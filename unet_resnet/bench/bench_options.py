"""What ``unet-resnet bench`` measures and how: its options, without importing torch (the command's ``--help``
and argument errors answer from here before the measurements are imported)."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_DECODER = (256, 128, 64, 32, 16)
SECTIONS = ("data", "pretrain", "gan", "generator", "postprocess", "e2e")


class BenchError(RuntimeError):
    """A benchmark that cannot run as asked; the message says what to change."""


@dataclass
class BenchOptions:
    """The settings of one bench run (the command's options of the same names)."""

    size: int = 256
    batch: int = 4
    infer_batch: int = 1
    iters: int = 8
    warmup: int = 2
    threads: int = 2
    device: str = "cpu"
    precision: str = "auto"
    channels_last: bool = False
    compile: bool = False
    decoder_channels: list[int] = field(default_factory=lambda: list(DEFAULT_DECODER))
    data: str = "data/samples"
    data_limit: int = 0
    infer_data: str = "data/samples"
    infer_limit: int = 0
    e2e_repeats: int = 1
    peak_tflops: float = 0.0
    skip: str = ""

    def skipped(self) -> set[str]:
        """The sections named in ``skip``; an unknown name is a :class:`BenchError`."""
        names = {s.strip() for s in self.skip.split(",") if s.strip()}
        if names - set(SECTIONS):
            raise BenchError(f"--skip {self.skip}: unknown section(s) {sorted(names - set(SECTIONS))}; use {SECTIONS}")
        return names

    def worker_argv(self, device: str) -> list[str]:
        """The ``unet-resnet bench`` options a training-step worker process needs, as a command line."""
        argv = ["--size", str(self.size), "--batch", str(self.batch), "--iters", str(self.iters)]
        argv += ["--warmup", str(self.warmup), "--threads", str(self.threads), "--device", device]
        argv += ["--precision", self.precision, "--decoder-channels", *map(str, self.decoder_channels)]
        return argv + ["--channels-last"] * self.channels_last + ["--compile"] * self.compile
