"""The manifest writer: whole rows appended as they come, per-rank parts folded into one file, foreign files kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from unet_resnet.batch.manifest import (
    COLUMNS,
    ManifestWriter,
    fold_parts,
    leftover_parts,
    part_path,
    read_manifest,
)


@pytest.mark.parametrize("name", ["m.csv", "m.jsonl"])
def test_rows_are_readable_while_the_writer_is_open(tmp_path: Path, name: str) -> None:
    path = tmp_path / "sub" / name
    writer = ManifestWriter(path)
    writer.written(Path("in/a,b.jpg"), Path("out/a,b.jpg"), 640, 480, 0.123456)
    writer.failed(Path("in/c.jpg"), None, "cannot be decoded\n(truncated)")
    rows = read_manifest(path)  # a killed process leaves exactly this: no close, no flush needed
    assert [r["input"] for r in rows] == ["in/a,b.jpg", "in/c.jpg"]
    assert rows[1]["reason"] == "cannot be decoded (truncated)"  # one line per row, always
    writer.skipped(Path("in/d.jpg"), Path("out/d.jpg"), "output exists")
    writer.close()
    rows = read_manifest(path)
    assert [r["status"] for r in rows] == ["written", "failed", "skipped"]
    assert set(rows[0]) == set(COLUMNS)
    assert str(rows[0]["width"]) == "640" and str(rows[0]["height"]) == "480" and str(rows[0]["rank"]) == "0"
    assert float(rows[0]["seconds"]) == pytest.approx(0.1235)
    assert rows[1]["output"] == "" and rows[1]["width"] in ("", None)


def test_a_new_run_appends(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    with ManifestWriter(path) as w:
        w.failed(Path("a.jpg"), Path("o/a.jpg"), "broken")
    with ManifestWriter(path) as w:
        w.skipped(Path("a.jpg"), Path("o/a.jpg"), "exists")
    assert [r["status"] for r in read_manifest(path)] == ["failed", "skipped"]
    assert path.read_text().count("input,output,status") == 1  # one header


def test_a_half_written_last_row_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    with ManifestWriter(path) as w:
        w.failed(Path("a.jpg"), None, "broken")
    with path.open("a") as f:
        f.write("b.jpg,out/b.jp")  # cut by a power loss
    with ManifestWriter(path) as w:
        w.failed(Path("c.jpg"), None, "broken")
    assert [r["input"] for r in read_manifest(path)] == ["a.jpg", "c.jpg"]


@pytest.mark.parametrize("content", ["name,age\nx,3\n", "just some notes\n"])
def test_a_file_that_is_not_a_manifest_is_never_touched(tmp_path: Path, content: str) -> None:
    for name in ("notes.csv", "notes.jsonl"):
        path = tmp_path / name
        path.write_text(content)
        with pytest.raises(ValueError, match=f"--manifest {path} exists and is not a manifest"):
            ManifestWriter(path)
        assert path.read_text() == content


def test_only_csv_and_jsonl(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"must end in \.csv or \.jsonl"):
        ManifestWriter(tmp_path / "m.txt")
    assert not (tmp_path / "m.txt").exists()


@pytest.mark.parametrize("name", ["m.csv", "m.jsonl"])
def test_ranks_write_parts_that_fold_into_one_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    fold_parts(path)  # before the run: creates the file
    writers = [ManifestWriter(path, rank, 3) for rank in range(3)]
    assert [w.target for w in writers] == [part_path(path, r) for r in range(3)]
    for rank, w in enumerate(writers):
        for i in range(2):
            w.written(Path(f"r{rank}_{i}.jpg"), Path(f"o/r{rank}_{i}.jpg"), 8, 8, 0.5)
    writers[2].close()
    writers[0].close()
    assert read_manifest(path) == []  # the rows are in the parts until rank 0 folds them
    part = part_path(path, 1)
    part.write_bytes(part.read_bytes() + b'"half a ro')  # rank 1 was killed mid-write
    assert fold_parts(path) == 6
    rows = read_manifest(path)
    assert [r["input"] for r in rows] == [f"r{r}_{i}.jpg" for r in range(3) for i in range(2)]
    assert [int(r["rank"]) for r in rows] == [0, 0, 1, 1, 2, 2]
    assert leftover_parts(path) == []
    assert fold_parts(path) == 0


def test_parts_of_another_manifest_are_left_alone(tmp_path: Path) -> None:
    ManifestWriter(tmp_path / "m.csv", 1, 2).close()
    ManifestWriter(tmp_path / "m.old.csv", 1, 2).close()
    ManifestWriter(tmp_path / "m.jsonl", 1, 2).close()
    (tmp_path / "m.rank-x.part.csv").write_text("")
    assert leftover_parts(tmp_path / "m.csv") == [tmp_path / "m.rank-1.part.csv"]
