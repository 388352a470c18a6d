"""The one object ``infer`` hands a folder to: it plans, takes this rank's share, runs, writes the manifest, counts."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
from conftest import rgb_image

from unet_resnet.batch.manifest import read_manifest
from unet_resnet.batch.runner import BatchRun, BatchSettings

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_batch_run_plans_shares_runs_and_writes_the_manifest(tmp_path: Path, tiny_generator_ckpt: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    for i, name in enumerate(("a.jpg", "b.png", "sub/c.jpg")):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(src / name), rgb_image(40, 56, i))
    (out / "b.png").parent.mkdir(parents=True)
    (out / "b.png").write_bytes(b"mine")  # kept: not asked to overwrite
    (src / "broken.jpg").write_bytes(b"\xff\xd8 not a photo")
    manifest = tmp_path / "rows.csv"
    run = BatchRun(BatchSettings(src, out, ckpt=tiny_generator_ckpt, device="cpu", manifest=manifest))
    run.start()
    assert run.total == 3 and run.plan.skipped == 1 and not run.info.distributed
    done: list[str] = []
    failed: list[str] = []
    summary = run.run(lambda job, written: done.append(job.src.name), lambda path, reason: failed.append(path.name))
    run.close()
    assert sorted(done) == ["a.jpg", "c.jpg"] and failed == ["broken.jpg"]
    assert (summary.done, summary.skipped, summary.failed) == (2, 1, 1)
    assert (out / "b.png").read_bytes() == b"mine" and (out / "sub" / "c.jpg").is_file()
    statuses = sorted((Path(r["input"]).name, r["status"]) for r in read_manifest(manifest))
    assert statuses == [("a.jpg", "written"), ("b.png", "skipped"), ("broken.jpg", "failed"), ("c.jpg", "written")]
