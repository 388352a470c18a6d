"""``unet-resnet bench``: throughput and memory of this project, measured on the machine it runs on.

Every rate is a median over ``--iters`` timed repetitions that follow ``--warmup`` untimed ones:

- ``data_images_per_s``: the per-photo float pipeline (:class:`~unet_resnet.data.dataset.LabDataset`: decode, resize,
  flip, Lab, tensors) in this one process and thread, over the photos of ``--data``: what a worker did before the
  loader handed uint8 over (and still does for hint and restoration models).
- ``loader_images_per_s``: the training loader itself (:mod:`unet_resnet.data.loader`) over the same photos: one
  worker process with one OpenCV thread, the training's default data settings (batch, resize, flip, prefetch), uint8
  batches as ``--device`` receives them; ``device_lab_images_per_s``: their conversion to the model's ``(L, ab)``
  there (batch 16), which the device does, not the loader's workers.
- ``decode_images_per_s``: a bare loop reading and ``cv2.imdecode``-ing the same files, one thread: the floor of
  any JPEG pipeline, against which the loader is judged.
- ``pretrain_images_per_s`` and ``gan_images_per_s``: :func:`~unet_resnet.training.steps.pretrain_step` and
  :func:`~unet_resnet.training.steps.gan_step` on
  random ``(L, ab)`` batches at ``--size`` and ``--batch``, the models built
  and wrapped as training builds them. Each runs in a fresh process, so that its peak memory (RSS, and CUDA memory
  on a GPU) is its own.
- ``generator_images_per_s`` (batch ``--infer-batch``) and ``generator_batch_images_per_s`` (batch ``--batch``):
  the generator alone, in eval mode without gradients.
- ``postprocess_images_per_s``: the full-resolution half of inference on a 1024x768 photo (the photo's Lab, ab
  upsampled, back to 8-bit RGB).
- ``e2e_images_per_s``: ``infer`` over ``--infer-data`` (decode, predict, merge, encode, write to a temporary
  folder) with a random-weight generator checkpoint.
- ``infer_startup_s``: wall seconds of the whole ``infer`` command on the first photo of ``--infer-data`` in a fresh
  process (interpreter, imports, model loading, one photo; :mod:`unet_resnet.bench.startup`), median of 3.
- parameters and forward multiply-accumulates (MACs) of both networks at ``--size``.

The command prints a table, then the JSON object as its last line (:mod:`unet_resnet.cli.bench`).
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn as nn

from unet_resnet.bench.bench_options import BenchError, BenchOptions
from unet_resnet.bench.step_bench import run_train_worker
from unet_resnet.bench.timing import count_macs, machine, median_seconds, n_params

log = logging.getLogger(__name__)

POSTPROCESS_SIZE = (1024, 768)  # (width, height) of the photo the full-resolution merge is timed on


# ------------------------------------------------------------------------------------------------- sections
def data_rate(paths: Sequence[Path], size: int, iters: int, warmup: int) -> float:
    """Images/s of the training dataset over ``paths`` (squash, random flips), one thread as in a worker."""
    from unet_resnet.data.dataset import LabDataset

    dataset = LabDataset(paths, size, "squash", flip=True, seed=0)
    epoch = iter(range(1 << 30))  # a new epoch per pass: other flips, same photos

    def one_pass() -> None:
        e = next(epoch)
        for i in range(len(dataset)):
            dataset[(i, e)]

    torch_threads, cv_threads = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(1)  # a DataLoader worker runs with one torch thread; OpenCV is held to one as well
    cv2.setNumThreads(1)
    try:
        seconds = median_seconds(one_pass, iters, min(warmup, 1), torch.device("cpu"))
    finally:
        torch.set_num_threads(torch_threads)
        cv2.setNumThreads(cv_threads)
    return len(dataset) / seconds


def loader_rate(paths: Sequence[Path], size: int, device: torch.device, iters: int, warmup: int) -> float:
    """Images/s of the training loader (:func:`~unet_resnet.data.loader.build_train_loader`) with one worker process
    and the training's default data settings: uint8 batches as the device receives them (copied to a CUDA device
    from pinned memory; on the CPU, as the main process gets them). An epoch is one pass over ``paths``; the Lab
    conversion that follows on the device is :func:`device_lab_rate`."""
    from unet_resnet.config import DataConfig
    from unet_resnet.data.dataset import LabDataset
    from unet_resnet.data.loader import build_train_loader

    d = DataConfig()
    batch = min(d.batch_size, len(paths))
    train_set = LabDataset(paths, size, d.resize, d.flip, seed=0, crop_scale=d.crop_scale, crop_ratio=d.crop_ratio)
    loader = build_train_loader(train_set, batch, 1, 0, 0, workers=1, device=device, prefetch_factor=d.prefetch_factor)
    epoch = iter(range(1 << 30))

    def one_pass() -> None:
        for photos in loader.set_position(next(epoch)):
            photos.to(device, non_blocking=True)

    seconds = median_seconds(one_pass, iters, max(1, min(warmup, 1)), device)  # the first pass starts the worker
    return len(loader) * batch / seconds


def device_lab_rate(size: int, batch: int, device: torch.device, iters: int, warmup: int) -> float:
    """Images/s of :func:`~unet_resnet.data.loader.model_batch` on a uint8 batch already on ``device``: the Lab
    conversion training runs there (OpenCV in the main process on the CPU, torch on an accelerator)."""
    from unet_resnet.data.loader import model_batch

    photos = torch.randint(0, 256, (batch, size, size, 3), dtype=torch.uint8, device=device)
    return batch / median_seconds(lambda: model_batch(photos, device), iters, warmup, device)


def decode_rate(paths: Sequence[Path], iters: int, warmup: int) -> float:
    """Images/s of a bare loop reading each file and decoding it in full with ``cv2.imdecode``, one OpenCV thread:
    the floor under any JPEG loader over the same files."""
    from unet_resnet.data.imageio import read_bytes

    def one_pass() -> None:
        for path in paths:
            cv2.imdecode(read_bytes(path), cv2.IMREAD_COLOR)

    cv_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        seconds = median_seconds(one_pass, iters, min(warmup, 1), torch.device("cpu"))
    finally:
        cv2.setNumThreads(cv_threads)
    return len(paths) / seconds


def generator_rate(
    G: nn.Module, batch: int, size: int, device: torch.device, dtype: torch.dtype, channels_last: bool,
    iters: int, warmup: int,
) -> float:  # fmt: skip
    """Images/s of the generator alone (eval mode, no gradients) on a random batch."""
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    L = torch.rand(batch, 1, size, size, device=device).contiguous(memory_format=fmt)

    @torch.no_grad()
    def forward() -> None:
        with torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
            G(L)

    return batch / median_seconds(forward, iters, warmup, device)


def postprocess_rate(photo: Path, size: int, iters: int, warmup: int) -> float:
    """Images/s of inference's full-resolution merge (the photo's L + upsampled ab -> 8-bit RGB) at 1024x768."""
    from unet_resnet.data.color import to_uint8
    from unet_resnet.data.imageio import read_photo
    from unet_resnet.inference.colorizer import Colorizer

    rgb = cv2.resize(read_photo(photo).rgb, POSTPROCESS_SIZE, interpolation=cv2.INTER_AREA)
    ab = np.random.default_rng(0).uniform(-0.5, 0.5, (2, size, size)).astype(np.float32)
    return 1.0 / median_seconds(lambda: to_uint8(Colorizer.merge(rgb, ab)), iters, warmup, torch.device("cpu"))


InferCommand = Callable[[list[str]], int]
"""The ``infer`` command as a function of its argument list, returning its exit code."""


def e2e_rate(G: nn.Module, spec: dict[str, Any], photos: Sequence[Path], device: torch.device, precision: str,
             repeats: int, infer_main: InferCommand) -> float:  # fmt: skip
    """Images/s of ``infer`` over ``photos``, model loading included, after one warm-up run on the first photo.

    ``infer_main`` is the command itself (the command layer passes it in: this module sits below it).
    """
    from unet_resnet.export.formats import export_pt

    with tempfile.TemporaryDirectory(prefix="unet_resnet_bench_") as tmp:
        root = Path(tmp)
        ckpt = root / "generator.pt"
        export_pt(G, spec, ckpt)
        inp = root / "in"
        inp.mkdir()
        for i, src in enumerate(photos):  # links keep the photos' own bytes and formats, limited to this list
            (inp / f"{i:05d}_{src.name}").symlink_to(src.resolve())
        common = ["--ckpt", str(ckpt), "--device", str(device), "--precision", precision, "--overwrite", "--quiet"]

        def run(src: Path, dst: Path) -> None:
            with contextlib.redirect_stdout(io.StringIO()):
                code = infer_main(["--in", str(src), "--out", str(dst), *common])
            if code != 0:
                raise BenchError(f"infer failed on {src} (exit code {code}); run infer.py on it to see why")

        first = next(iter(sorted(inp.iterdir())))
        run(first, root / "warm" / first.name)
        seconds = median_seconds(lambda: run(inp, root / "out"), repeats, 0, device)
    return len(photos) / seconds


# ------------------------------------------------------------------------------------------------- the run
def photos_of(folder: str, limit: int, what: str) -> list[Path]:
    from unet_resnet.data.imageio import list_images

    if not Path(folder).is_dir():
        raise BenchError(f"{what} {folder} is not a folder of photos; pass another one or --skip the sections using it")
    paths = list_images(folder)
    if not paths:
        raise BenchError(f"{what} {folder} holds no photos (.jpg .jpeg .png .bmp .tif .tiff .webp)")
    return paths[:limit] if limit > 0 else paths


def run_bench(opts: BenchOptions, infer_main: InferCommand | None = None) -> dict[str, Any]:
    """All sections not in ``opts.skip``; returns the flat result dict the command prints as JSON.

    ``infer_main``: the ``infer`` command, needed by the ``e2e`` section only.
    """
    from unet_resnet.models.generator import UNetGenerator, model_spec
    from unet_resnet.runtime.distributed import pick_device
    from unet_resnet.runtime.precision import resolve_precision

    device = pick_device(opts.device)
    dtype = resolve_precision(opts.precision, device)
    precision = {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[dtype]
    skip = opts.skipped()
    if "e2e" not in skip and infer_main is None:
        raise BenchError("the e2e section runs the infer command: pass infer_main, or skip e2e")
    out: dict[str, Any] = {"system": "unet_resnet", **machine(device, torch.get_num_threads())}
    out |= {"size": opts.size, "batch": opts.batch, "infer_batch": opts.infer_batch, "precision": precision,
            "channels_last": opts.channels_last, "compile": opts.compile,
            "decoder_channels": list(opts.decoder_channels), "iters": opts.iters, "warmup": opts.warmup}  # fmt: skip

    from unet_resnet.models.discriminator import PatchDiscriminator

    torch.manual_seed(0)
    G = UNetGenerator("none", opts.decoder_channels, 2)
    D = PatchDiscriminator(in_channels=3)
    size = opts.size
    out["generator_params"], out["discriminator_params"] = n_params(G), n_params(D)
    out["generator_gmacs"] = count_macs(G, torch.rand(1, 1, size, size)) / 1e9
    out["discriminator_gmacs"] = count_macs(D, torch.rand(1, 1, size, size), torch.rand(1, 2, size, size)) / 1e9

    if "data" not in skip:
        paths = photos_of(opts.data, opts.data_limit, "--data")
        log.info("data pipeline on %d photos of %s", len(paths), opts.data)
        out |= {"data_images_per_s": data_rate(paths, size, opts.iters, opts.warmup), "data_photos": len(paths)}
        out["loader_images_per_s"] = loader_rate(paths, size, device, opts.iters, opts.warmup)
        out["decode_images_per_s"] = decode_rate(paths, opts.iters, opts.warmup)
        out["device_lab_images_per_s"] = device_lab_rate(size, 16, device, opts.iters, opts.warmup)
    for kind in ("pretrain", "gan"):
        if kind not in skip:
            log.info("%s step in a fresh process", kind)
            res = run_train_worker(kind, opts, device)
            out[f"{kind}_images_per_s"], out[f"{kind}_peak_rss_mb"] = res["images_per_s"], res["peak_rss_mb"]
            if "peak_gpu_mb" in res:
                out[f"{kind}_peak_gpu_mb"] = res["peak_gpu_mb"]
    peaks = [out[k] for k in ("pretrain_peak_rss_mb", "gan_peak_rss_mb") if k in out]
    if peaks:
        out["train_peak_rss_mb"] = max(peaks)
    if "generator" not in skip:
        log.info("generator inference")
        Gi = G.to(device).eval()
        if opts.channels_last:
            Gi = Gi.to(memory_format=torch.channels_last)
        if opts.compile:
            Gi = torch.compile(Gi)  # type: ignore[assignment]
        rate_args = (size, device, dtype, opts.channels_last, opts.iters, opts.warmup)
        out["generator_images_per_s"] = generator_rate(Gi, opts.infer_batch, *rate_args)
        out["generator_batch_images_per_s"] = generator_rate(Gi, opts.batch, *rate_args)
        G = G.cpu()
    if "postprocess" not in skip:
        photo = photos_of(opts.infer_data, 1, "--infer-data")[0]
        out["postprocess_images_per_s"] = postprocess_rate(photo, size, opts.iters, opts.warmup)
    if "e2e" not in skip and infer_main is not None:  # checked above: not None unless e2e is skipped
        photos = photos_of(opts.infer_data, opts.infer_limit, "--infer-data")
        log.info("end-to-end inference on %d photos of %s", len(photos), opts.infer_data)
        spec = model_spec(opts.decoder_channels, 2, size)
        out |= {"e2e_images_per_s": e2e_rate(G, spec, photos, device, precision, opts.e2e_repeats, infer_main),
                "e2e_photos": len(photos)}  # fmt: skip
        from unet_resnet.bench.startup import generator_startup_seconds

        out["infer_startup_s"] = generator_startup_seconds(G, spec, photos[0], str(device))
    if opts.peak_tflops > 0:  # FLOPs = 2 per MAC forward + 4 per MAC backward, per network trained through
        peak = opts.peak_tflops * 1e12
        g, d = out["generator_gmacs"] * 1e9, out["discriminator_gmacs"] * 1e9
        for key, flops in (("pretrain", 6 * g), ("gan", 6 * (g + 3 * d)), ("generator", 2 * g)):
            if f"{key}_images_per_s" in out:
                out[f"{key}_peak_fraction"] = flops * out[f"{key}_images_per_s"] / peak
    return out


ROWS = (
    ("data_images_per_s", "data pipeline, Lab per photo (1 thread)", "images/s"),
    ("loader_images_per_s", "training loader (1 worker, to device)", "images/s"),
    ("decode_images_per_s", "bare cv2.imdecode loop (1 thread)", "images/s"),
    ("device_lab_images_per_s", "uint8 batch -> Lab on the device", "images/s"),
    ("pretrain_images_per_s", "L1 pretraining step", "images/s"),
    ("gan_images_per_s", "GAN step (D + G)", "images/s"),
    ("train_peak_rss_mb", "peak RSS of a training step", "MiB"),
    ("pretrain_peak_gpu_mb", "peak GPU memory, pretraining", "MiB"),
    ("gan_peak_gpu_mb", "peak GPU memory, GAN step", "MiB"),
    ("generator_images_per_s", "generator inference (infer batch)", "images/s"),
    ("generator_batch_images_per_s", "generator inference (batch)", "images/s"),
    ("postprocess_images_per_s", "full-resolution merge, 1024x768", "images/s"),
    ("e2e_images_per_s", "end to end (infer)", "images/s"),
    ("infer_startup_s", "infer command on one photo (start-up)", "s"),
    ("pretrain_peak_fraction", "pretraining, fraction of peak", ""),
    ("gan_peak_fraction", "GAN step, fraction of peak", ""),
)


def table(out: dict[str, Any]) -> str:
    """The figures of :func:`run_bench` as aligned text."""
    lines = [
        f"unet_resnet bench on {out['device']} ({out['device_name']}), {out['threads']} threads, "
        f"{out['size']}x{out['size']}, batch {out['batch']}, {out['precision']}, decoder {out['decoder_channels']}",
        f"  generator: {out['generator_params'] / 1e6:.2f} M parameters, {out['generator_gmacs']:.2f} GMACs/image; "
        f"discriminator: {out['discriminator_params'] / 1e6:.2f} M, {out['discriminator_gmacs']:.2f} GMACs/image",
    ]
    for key, name, unit in ROWS:
        if key in out:
            lines.append(f"  {name:<36} {out[key]:>10.3f} {unit}")
    return "\n".join(lines)
