"""Archive-scale inference: the manifest of a run, ``--in list.txt``, shares of a plan among ranks, a killed run
resumed, and two processes under torchrun (gloo)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import cv2
import pytest
from conftest import rgb_image, write_small_copies

from unet_resnet.batch import ranks
from unet_resnet.batch.manifest import leftover_parts, read_manifest
from unet_resnet.batch.plan import make_plan
from unet_resnet.batch.ranks import plan_fingerprint, share_plan, stop_on_sigterm
from unet_resnet.batch.shard import balanced_shares, file_weight
from unet_resnet.cli.infer import main

ROOT = Path(__file__).resolve().parents[2]
KILL_WORKER = ROOT / "tests" / "batch" / "kill_worker.py"


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in args] + ["--quiet", "--device", "cpu"])
    out, err = capsys.readouterr()
    return code, out, err


def photo_folder(root: Path, count: int) -> list[Path]:
    """``count`` small photos of different sizes, some in a sub-folder."""
    paths = []
    for i in range(count):
        path = root / ("sub" if i % 3 == 0 else "") / f"p{i:02d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), rgb_image(16 + 4 * i, 24 + 2 * i, seed=i))
        paths.append(path)
    return paths


def stamps(root: Path) -> dict[str, tuple[int, int]]:
    """(inode, modification time) of every visible file under ``root``: what a rewrite would change."""
    return {
        p.relative_to(root).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    }


def expected_ranks(src: Path, out: Path) -> dict[str, int]:
    """The rank each photo still to do goes to, as every rank computes it."""
    jobs = make_plan(src, out).jobs
    shares = balanced_shares([file_weight(job.src) for job in jobs], 2)
    return {str(jobs[i].src): rank for rank, share in enumerate(shares) for i in share}


# ------------------------------------------------------------------------------------------------- one process
def test_manifest_has_one_row_per_input(
    tmp_path: Path, tiny_generator_ckpt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, out, manifest = tmp_path / "in", tmp_path / "out", tmp_path / "report" / "run.jsonl"
    photo_folder(src, 4)
    (src / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    out.mkdir()
    cv2.imwrite(str(out / "p01.png"), rgb_image(8, 8))  # done by an earlier run
    code, stdout, _ = run(capsys, "--in", src, "--out", out, "--ckpt", tiny_generator_ckpt, "--manifest", manifest)
    assert code == 1 and "3 colorized, 1 skipped (output exists; --overwrite replaces), 1 failed" in stdout
    rows = {Path(r["input"]).name: r for r in read_manifest(manifest)}
    assert len(read_manifest(manifest)) == 5 and set(rows) == {"p00.png", "p01.png", "p02.png", "p03.png", "broken.jpg"}
    assert rows["p01.png"]["status"] == "skipped" and rows["p01.png"]["output"] == str(out / "p01.png")
    assert rows["broken.jpg"]["status"] == "failed" and "not a decodable image" in rows["broken.jpg"]["reason"]
    for name, (h, w) in {"p00.png": (16, 24), "p02.png": (24, 28), "p03.png": (28, 30)}.items():
        row = rows[name]
        assert row["status"] == "written" and (row["width"], row["height"]) == (w, h), row
        assert Path(row["output"]).is_file() and row["seconds"] > 0 and row["rank"] == 0
    assert rows["p00.png"]["output"] == str(out / "sub" / "p00.png")


def test_list_file_with_sub_folders_and_a_missing_path(
    tmp_path: Path, tiny_generator_ckpt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "archive"
    for rel in ("1950/wedding/a.png", "1960/b.png", "unlisted.png"):
        (archive / rel).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(archive / rel), rgb_image(20, 30))
    elsewhere = tmp_path / "elsewhere" / "c.png"
    elsewhere.parent.mkdir()
    cv2.imwrite(str(elsewhere), rgb_image(12, 12))
    listing = archive / "todo.txt"
    listing.write_text(
        "# photos of the 1950s and 1960s\n\n1950/wedding/a.png\n  1960/b.png  \n1970/gone.png\n"
        f"{elsewhere}\nnotes.doc\n"
    )
    out, manifest = tmp_path / "out", tmp_path / "m.csv"
    args = ("--in", listing, "--out", out, "--ckpt", tiny_generator_ckpt, "--manifest", manifest, "--format", "jpg")
    code, stdout, stderr = run(capsys, *args)
    assert code == 1 and "3 colorized, 0 skipped (output exists; --overwrite replaces), 2 failed" in stdout
    outside = Path(*elsewhere.with_suffix(".jpg").parts[1:])  # its whole path, less the root
    written = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
    assert written == sorted([Path("1950/wedding/a.jpg"), Path("1960/b.jpg"), outside])
    assert f"failed: {archive / '1970/gone.png'}: listed on line 5 of {listing}, but there is no such file" in stderr
    assert f"line 7 of {listing} is not a photo" in stderr
    statuses = {Path(r["input"]).name: r["status"] for r in read_manifest(manifest)}
    assert statuses == {"a.png": "written", "b.png": "written", "c.png": "written", "gone.png": "failed",
                        "notes.doc": "failed"}  # fmt: skip
    code, stdout, _ = run(capsys, *args)  # the same command again: nothing rewritten
    assert code == 1 and "0 colorized, 3 skipped" in stdout


def test_unusable_lists_are_refused(
    tmp_path: Path, tiny_generator_ckpt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing yet\n\n")
    code, _, stderr = run(capsys, "--in", empty, "--out", tmp_path / "out", "--ckpt", tiny_generator_ckpt)
    assert code == 2 and f"--in {empty} lists no photos" in stderr
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    code, _, stderr = run(capsys, "--in", binary, "--out", tmp_path / "out", "--ckpt", tiny_generator_ckpt)
    assert code == 2 and "is not a UTF-8 text file" in stderr
    manifest = tmp_path / "m.tsv"
    code, _, stderr = run(
        capsys, "--in", empty, "--out", tmp_path / "o", "--manifest", manifest, "--ckpt", tiny_generator_ckpt
    )
    assert code == 2 and "must end in .csv or .jsonl" in stderr
    assert not (tmp_path / "out").exists()


def test_shares_of_a_plan_cover_it_once(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    photo_folder(src, 7)
    out.mkdir()
    cv2.imwrite(str(out / "p02.png"), rgb_image(8, 8))
    plan = make_plan(src, out)
    weights = [file_weight(job.src) for job in plan.jobs]
    shares = [share_plan(plan, weights, rank, 2) for rank in range(2)]
    assert sorted(j.src for s in shares for j in s.jobs) == sorted(j.src for j in plan.jobs)
    assert all(shares[0].jobs) and len(shares[1].jobs) >= 2
    assert shares[0].kept == plan.kept and shares[0].skipped == 1  # rank 0 reports the photos already done
    assert shares[1].kept == [] and shares[1].skipped == 0 and shares[1].conflicts == []


def test_plan_fingerprint_counts_the_photos_and_their_sizes(tmp_path: Path) -> None:
    # ranks compare their plans' fingerprints (an all-reduce, exercised by the two-process run below) to stop when
    # one sees another folder: a fingerprint must follow the files and their sizes
    src = tmp_path / "in"
    photo_folder(src, 3)
    plan = make_plan(src, tmp_path / "out")
    weights = [file_weight(job.src) for job in plan.jobs]
    assert plan_fingerprint(plan, weights) == plan_fingerprint(make_plan(src, tmp_path / "out"), weights)
    assert plan_fingerprint(plan, weights) != plan_fingerprint(plan, [w + 1 for w in weights])
    fewer = replace(plan, jobs=plan.jobs[:-1])
    assert plan_fingerprint(plan, weights) != plan_fingerprint(fewer, weights[:-1])


# ---------------------------------------------------------------------------------------- processes (slow)
def env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


@pytest.mark.slow
def test_a_killed_run_resumes_without_rewriting(
    tmp_path: Path, tiny_generator_ckpt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, out, manifest = tmp_path / "in", tmp_path / "out", tmp_path / "m.csv"
    photos = photo_folder(src, 10)
    args = ["--in", src, "--out", out, "--ckpt", tiny_generator_ckpt, "--manifest", manifest, "--workers", "1",
            "--batch-size", "1"]  # fmt: skip
    cmd = [sys.executable, str(KILL_WORKER), "4", "0", *map(str, args), "--device", "cpu", "--quiet"]
    proc = subprocess.run(cmd, env=env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr[-2000:]  # SIGKILL: nothing closed, nothing flushed by Python
    before = stamps(out)
    assert len(before) == 4 and sorted(p.name for p in out.rglob(".*")) == []  # 4 whole photos, no temporary file
    first = read_manifest(manifest)
    assert 1 <= len(first) <= 4 and all(r["status"] == "written" and Path(r["output"]).is_file() for r in first)

    code, stdout, _ = run(capsys, *args)
    assert code == 0 and "6 colorized, 4 skipped" in stdout
    assert {k: v for k, v in stamps(out).items() if k in before} == before  # none of the 4 was rewritten
    assert len(stamps(out)) == 10
    rows = read_manifest(manifest)
    second = rows[len(first) :]
    assert sorted(r["input"] for r in second) == sorted(map(str, photos))  # one row per input
    done_before = {r["input"] for r in second if r["status"] == "skipped"}
    assert {str(out / k) for k in before} == {r["output"] for r in second if r["status"] == "skipped"}
    assert {r["input"] for r in first} <= done_before
    written = [r["input"] for r in rows if r["status"] == "written"]
    assert len(written) == len(set(written))  # no photo written twice


@pytest.mark.slow
def test_two_processes_share_the_photos_and_resume_after_a_rank_dies(
    tmp_path: Path, tiny_generator_ckpt: Path, sample_paths: list[Path]
) -> None:
    src, out, manifest = tmp_path / "in", tmp_path / "out", tmp_path / "m.csv"
    for i, size in enumerate([(96, 80), (120, 90), (64, 64)]):
        write_small_copies(sample_paths[4 * i : 4 * i + 4], src / ("" if i == 0 else f"roll{i}"), size)
    (src / "broken.jpg").write_bytes(b"\xff\xd8 half a jpeg")
    inputs = sorted(str(p) for p in src.rglob("*") if p.is_file())
    exe = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or "torchrun"
    torchrun = [exe, "--standalone", "--nproc_per_node=2"]
    args = ["--in", str(src), "--out", str(out), "--ckpt", str(tiny_generator_ckpt), "--device", "cpu", "--quiet",
            "--manifest", str(manifest), "--workers", "1", "--batch-size", "2"]  # fmt: skip

    # rank 1 dies as it starts its third photo: torchrun stops rank 0, the parts keep what both finished
    first_ranks = expected_ranks(src, out)
    assert set(first_ranks.values()) == {0, 1} and len(first_ranks) == len(inputs)
    proc = subprocess.run([*torchrun, str(KILL_WORKER), "2", "1", *args], env=env(), cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode != 0, proc.stdout[-2000:]
    assert read_manifest(manifest) == []  # rows are in the parts until a run ends
    first = [r for part in leftover_parts(manifest) for r in read_manifest(part)]
    assert first and all(int(r["rank"]) == first_ranks[r["input"]] for r in first)
    assert sum(r["rank"] == "1" and r["status"] == "written" for r in first) <= 2
    before = stamps(out)
    assert before and len(before) < len(inputs) - 1

    # the same command again finishes the rest, on both ranks, and writes nothing twice
    second_ranks = expected_ranks(src, out)
    proc = subprocess.run([*torchrun, str(ROOT / "infer.py"), *args], env=env(), cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 1, proc.stderr[-3000:]  # the broken file failed, on every rank's exit code
    summaries = [line for line in proc.stdout.splitlines() if " colorized, " in line]
    done = len(inputs) - 1 - len(before)
    assert len(summaries) == 1, proc.stdout  # rank 0 alone prints, with the counts of both ranks
    assert f"{done} colorized, {len(before)} skipped (output exists; --overwrite replaces), 1 failed" in summaries[0]
    assert "over 2 processes" in summaries[0]
    assert leftover_parts(manifest) == []
    rows = read_manifest(manifest)
    assert rows[: len(first)] == first  # the killed run's rows, folded in first
    second = rows[len(first) :]
    assert sorted(r["input"] for r in second) == inputs  # one row per input
    for r in second:
        if r["input"] in second_ranks:
            assert int(r["rank"]) == second_ranks[r["input"]], r
            assert r["status"] == ("failed" if r["input"].endswith("broken.jpg") else "written"), r
        else:
            assert r["status"] == "skipped" and r["rank"] == "0", r
    assert {r["rank"] for r in second if r["status"] != "skipped"} == {"0", "1"}
    after = stamps(out)
    assert {k: v for k, v in after.items() if k in before} == before  # nothing written twice
    assert len(after) == len(inputs) - 1


def test_sigterm_stops_a_run_like_ctrl_c() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), stop_on_sigterm():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler interrupts this at once
    assert signal.getsignal(signal.SIGTERM) is before


def test_default_workers_share_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ranks, "usable_cpus", lambda: 32)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    assert ranks.default_workers() == 16  # one process: all CPUs, at most 16
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "8")  # torchrun --nproc_per_node=8
    assert ranks.default_workers() == 4
    monkeypatch.setattr(ranks, "usable_cpus", lambda: 2)
    assert ranks.default_workers() == 1  # never zero
