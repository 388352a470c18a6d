"""The speed bench: one tiny smoke run prints every promised figure with its unit (no test judges a time)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from unet_resnet.bench.bench import ROWS
from unet_resnet.bench.bench_options import DEFAULT_DECODER
from unet_resnet.bench.timing import count_macs, n_params
from unet_resnet.cli.bench import main as bench_main
from unet_resnet.models.generator import UNetGenerator

ROOT = Path(__file__).resolve().parents[2]

PROMISED = (
    "data_images_per_s",
    "loader_images_per_s",
    "decode_images_per_s",
    "device_lab_images_per_s",
    "pretrain_images_per_s",
    "gan_images_per_s",
    "train_peak_rss_mb",
    "pretrain_peak_rss_mb",
    "gan_peak_rss_mb",
    "generator_images_per_s",
    "generator_batch_images_per_s",
    "postprocess_images_per_s",
    "e2e_images_per_s",
    "generator_params",
    "generator_gmacs",
    "discriminator_params",
    "discriminator_gmacs",
    "threads",
)


@pytest.mark.slow
def test_bench_smoke_run_prints_every_figure_with_its_unit(
    tiny_photos: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One tiny run of the whole bench: the JSON holds every promised key, and the table a row per figure with its
    name and unit. The values are measurements of this machine and are not judged here."""
    out_json = tmp_path / "bench.json"
    argv = ["--size", "64", "--batch", "2", "--iters", "1", "--warmup", "0", "--threads", "1"]
    argv += ["--data", str(tiny_photos), "--data-limit", "3", "--infer-data", str(tiny_photos), "--infer-limit", "2"]
    assert bench_main([*argv, "--json", str(out_json)]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    result = json.loads(printed[-1])
    assert result == json.loads(out_json.read_text())
    missing = [key for key in (*PROMISED, "infer_startup_s") if key not in result]
    assert not missing, missing
    assert result["device"] == "cpu" and result["size"] == 64 and result["batch"] == 2
    assert result["decoder_channels"] == list(DEFAULT_DECODER)
    rows = printed[2:-1]  # two header lines, the rows, then the JSON
    cpu_rows = [(key, name, unit) for key, name, unit in ROWS if "gpu" not in key and "fraction" not in key]
    assert len(rows) == len(cpu_rows), rows
    for row, (key, name, unit) in zip(rows, cpu_rows, strict=True):
        assert re.fullmatch(rf"\s+{re.escape(name)}\s+[0-9.]+ {re.escape(unit)}", row), (key, row)
    assert "M parameters" in printed[1] and "GMACs/image" in printed[1]


def test_macs_of_the_default_generator_at_256() -> None:
    # a ResNet18 U-Net with a light decoder: a few GMACs, far below the original's fastai decoder (28.4)
    G = UNetGenerator("none", DEFAULT_DECODER, 2)
    gmacs = count_macs(G, torch.rand(1, 1, 256, 256)) / 1e9
    assert 2.0 < gmacs < 8.0
    assert 11e6 < n_params(G) < 20e6


def test_bad_options_and_unknown_sections_are_refused(tiny_photos: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        bench_main(["--size", "100"])
    assert "multiple of 32" in capsys.readouterr().err
    code = bench_main(["--size", "64", "--skip", "data,gan,pretrain,generator,postprocess,e2e,speed"])
    assert code == 2
    assert "unknown section" in capsys.readouterr().err
    code = bench_main(["--size", "64", "--data", str(tiny_photos / "missing"), "--skip", "pretrain,gan,e2e"])
    assert code == 2
    assert "missing" in capsys.readouterr().err


def test_comparison_says_so_and_exits_cleanly_without_the_reference(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "compare.py"), "--shared", str(tmp_path / "nowhere")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "comparison skipped" in proc.stdout
