"""``infer.py`` end to end on folders of every kind of input, and the full-resolution merge it relies on."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from conftest import rgb_image
from image_factory import make_unreadable, write_nasty_folder

from unet_resnet.batch.pipeline import Options, Pipeline
from unet_resnet.batch.plan import make_plan
from unet_resnet.cli.infer import main
from unet_resnet.data.color import lab_to_rgb, rgb_to_lab
from unet_resnet.data.imageio import cut_short, pixels_to_rgb, read_photo
from unet_resnet.inference import colorizer as colorize
from unet_resnet.inference.colorizer import Colorizer, render

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in args] + ["--quiet", "--device", "cpu"])
    out, err = capsys.readouterr()
    return code, out, err


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def lightness(path: Path) -> np.ndarray:
    return rgb_to_lab(read_photo(path).rgb)[..., 0]


# ------------------------------------------------------------------------------------------------------- folders
def test_every_input_and_every_failure(tmp_path: Path, vivid_ckpt: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src, out = tmp_path / "scans", tmp_path / "out"
    good, bad = write_nasty_folder(src)
    code, stdout, stderr = run(capsys, "--in", src, "--out", out, "--ckpt", vivid_ckpt, "--batch-size", "3")

    assert code == 1
    assert f"{len(good)} colorized, 0 skipped (output exists; --overwrite replaces), {len(bad)} failed" in stdout
    failed_lines = [line for line in stderr.splitlines() if line.startswith("failed: ")]
    assert len(failed_lines) == len(bad)
    for name in bad:
        assert sum(line.startswith(f"failed: {src / name}: ") for line in failed_lines) == 1, name
    written = files_under(out)
    assert sorted(written) == sorted(good)  # names and sub-folders kept; nothing for the bad files, no temp files
    for name, (h, w) in good.items():
        photo = read_photo(out / name)
        assert photo.pixels.shape[:2] == (h, w), name  # orientation applied, size kept
        assert photo.pixels.ndim == 3, name  # colour out, even for gray and palette inputs
        if h * w > 1:
            assert np.abs(lightness(out / name) - lightness(src / name)).mean() < 1.0, name
    assert read_photo(out / "deep16.png").pixels.dtype == np.uint16
    assert read_photo(out / "scan.tif").pixels.dtype == np.uint16
    alpha_in, alpha_out = read_photo(src / "rgba.png").alpha, read_photo(out / "rgba.png").alpha
    assert alpha_out is not None and alpha_in is not None
    np.testing.assert_array_equal(alpha_out, alpha_in)
    colourful = pixels_to_rgb(read_photo(out / "gray.png").pixels)
    assert np.abs(rgb_to_lab(colourful)[..., 1:]).mean() > 2.0  # the gray photo really got colours

    code, stdout, _ = run(capsys, "--in", src, "--out", out, "--ckpt", vivid_ckpt)
    assert code == 1 and f"0 colorized, {len(good)} skipped" in stdout
    assert files_under(out) == written  # a re-run without --overwrite writes nothing


def test_unreadable_file_is_reported(
    tmp_path: Path, tiny_generator_ckpt: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "in"
    src.mkdir()
    cv2.imwrite(str(src / "ok.png"), rgb_image(20, 20))
    locked = src / "locked.png"
    cv2.imwrite(str(locked), rgb_image(20, 20))
    make_unreadable(locked, monkeypatch)
    code, stdout, stderr = run(capsys, "--in", src, "--out", tmp_path / "out", "--ckpt", tiny_generator_ckpt)
    assert code == 1 and "1 colorized, 0 skipped" in stdout and "1 failed" in stdout
    assert f"failed: {locked}: permission denied" in stderr
    assert sorted(files_under(tmp_path / "out")) == ["ok.png"]


def test_overwrite_recursive_and_format(
    tmp_path: Path, tiny_generator_ckpt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    (src / "deeper").mkdir(parents=True)
    cv2.imwrite(str(src / "a.jpg"), rgb_image(24, 32))
    cv2.imwrite(str(src / "deeper" / "b.png"), rgb_image(16, 16))
    ckpt = ("--ckpt", tiny_generator_ckpt)
    assert run(capsys, "--in", src, "--out", out, *ckpt, "--no-recursive")[0] == 0
    assert sorted(files_under(out)) == ["a.jpg"]
    (out / "a.jpg").write_bytes(b"stale")
    code, stdout, _ = run(capsys, "--in", src, "--out", out, *ckpt, "--overwrite", "--format", "webp")
    assert code == 0 and "2 colorized, 0 skipped" in stdout
    assert sorted(files_under(out)) == ["a.jpg", "a.webp", "deeper/b.webp"]
    assert (out / "a.jpg").read_bytes() == b"stale"  # another name: untouched
    assert read_photo(out / "deeper" / "b.webp").size == (16, 16)
    code, stdout, _ = run(capsys, "--in", src, "--out", out, *ckpt, "--overwrite")
    assert code == 0 and read_photo(out / "a.jpg").size == (32, 24)  # --overwrite replaced the stale file


def test_two_inputs_never_share_an_output(
    tmp_path: Path, tiny_generator_ckpt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    cv2.imwrite(str(src / "a.png"), rgb_image(20, 30, seed=1))
    cv2.imwrite(str(src / "a.jpg"), rgb_image(20, 30, seed=2))
    cv2.imwrite(str(src / "b.png"), rgb_image(20, 30, seed=3))
    cv2.imwrite(str(src / "b.PNG"), rgb_image(20, 30, seed=4))  # the same file on macOS and Windows
    code, stdout, stderr = run(capsys, "--in", src, "--out", out, "--ckpt", tiny_generator_ckpt, "--format", "png")
    assert code == 1 and "2 colorized, 0 skipped" in stdout and "2 failed" in stdout
    assert f"failed: {src / 'a.png'}: its output {out / 'a.png'} is also the output of {src / 'a.jpg'}" in stderr
    assert f"failed: {src / 'b.png'}: its output" in stderr and f"is also the output of {src / 'b.PNG'}" in stderr
    assert sorted(files_under(out)) == ["a.png", "b.png"]
    # each output holds the photo named in the message as its owner, not the other one
    assert np.abs(lightness(out / "a.png") - lightness(src / "a.jpg")).mean() < 1.0
    assert np.abs(lightness(out / "b.png") - lightness(src / "b.PNG")).mean() < 1.0
    assert np.abs(lightness(out / "b.png") - lightness(src / "b.png")).mean() > 5.0


def test_a_truncated_file_is_described_as_the_app_describes_it(
    tmp_path: Path, tiny_generator_ckpt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from unet_resnet.app.service import Limits, RequestError, decode_upload

    src = tmp_path / "in"
    src.mkdir()
    whole = {
        ".jpg": cv2.imencode(".jpg", rgb_image(64, 64))[1].tobytes(),
        ".png": cv2.imencode(".png", rgb_image(64, 64))[1].tobytes(),
    }
    for suffix, data in whole.items():
        (src / f"cut{suffix}").write_bytes(data[: len(data) // 2])
    code, _, stderr = run(capsys, "--in", src, "--out", tmp_path / "out", "--ckpt", tiny_generator_ckpt)
    assert code == 1
    for suffix, kind in ((".jpg", "jpeg"), (".png", "png")):
        path = src / f"cut{suffix}"
        with pytest.raises(RequestError) as refused:
            decode_upload(path.read_bytes(), path.name, Limits())
        assert refused.value.message == f"{path.name}: {cut_short(kind)}"
        assert f"failed: {path}: {cut_short(kind)}" in stderr  # infer.py says the same words


def test_files_that_are_neither_photos_nor_films_are_counted(
    tmp_path: Path, tiny_generator_ckpt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    cv2.imwrite(str(src / "a.png"), rgb_image(20, 24))
    (src / "notes.txt").write_text("where and when\n")
    (src / "sub" / "a.xmp").write_text("<x/>")
    (src / ".DS_Store").write_bytes(b"\0")  # hidden: not a file of the folder's content
    ckpt = ("--ckpt", tiny_generator_ckpt)
    code, stdout, _ = run(capsys, "--in", src, "--out", tmp_path / "out", *ckpt)
    assert code == 0
    assert "1 colorized, 0 skipped (output exists; --overwrite replaces), 0 failed, 2 other file(s) ignored" in stdout
    code, stdout, _ = run(capsys, "--in", src, "--out", tmp_path / "out", *ckpt, "--no-recursive", "--overwrite")
    assert code == 0 and "0 failed, 1 other file(s) ignored (neither photos nor films)" in stdout


def test_help_explains_precision_and_the_recursive_default(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split("options:", 1)[1].split())  # below the usage; lines unwrapped
    precision = text.split("--precision {fp32,bf16,fp16}", 1)[1].split(" --", 1)[0]
    assert "fp32 (default" in precision and "bf16" in precision and "fp16 (CUDA only)" in precision
    recursive = text.split("--recursive, --no-recursive", 1)[1].split(" --", 1)[0]
    assert "default: on" in recursive


def test_compare_images(tmp_path: Path, tiny_generator_ckpt: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    (src / "sub").mkdir(parents=True)
    cv2.imwrite(str(src / "sub" / "p.png"), rgb_image(30, 40))
    assert run(capsys, "--in", src, "--out", out, "--ckpt", tiny_generator_ckpt, "--compare")[0] == 0
    three = read_photo(tmp_path / "out-compare" / "sub" / "p.png").pixels
    assert three.shape == (30, 40 + 8 + 40 + 8 + 40, 3)  # a colour photo: gray | colour | the original
    gray_half = rgb_to_lab(pixels_to_rgb(three[:, :40]))
    assert np.abs(gray_half[..., 1:]).max() < 1.5  # the left part is the input without colour
    np.testing.assert_allclose(gray_half[..., 0], lightness(src / "sub" / "p.png"), atol=1.0)
    np.testing.assert_array_equal(three[:, 48:88], read_photo(out / "sub" / "p.png").pixels)
    np.testing.assert_array_equal(three[:, 96:], read_photo(src / "sub" / "p.png").pixels)


def test_compare_of_a_gray_photo_has_no_original(
    tmp_path: Path, tiny_generator_ckpt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    gray = cv2.cvtColor(rgb_image(30, 40), cv2.COLOR_BGR2GRAY)
    cv2.imwrite(str(src / "one.png"), gray)
    cv2.imwrite(str(src / "three.jpg"), cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR))  # gray saved as colour
    assert run(capsys, "--in", src, "--out", out, "--ckpt", tiny_generator_ckpt, "--compare")[0] == 0
    for name in ("one.png", "three.jpg"):
        assert read_photo(tmp_path / "out-compare" / name).size == (40 + 8 + 40, 30), name


def test_single_file(tmp_path: Path, tiny_generator_ckpt: Path, capsys: pytest.CaptureFixture[str]) -> None:
    photo = tmp_path / "one.jpg"
    cv2.imwrite(str(photo), rgb_image(20, 24))
    ckpt = ("--ckpt", tiny_generator_ckpt)
    assert run(capsys, "--in", photo, "--out", tmp_path / "result.png", *ckpt)[0] == 0
    assert read_photo(tmp_path / "result.png").size == (24, 20)
    assert run(capsys, "--in", photo, "--out", tmp_path / "folder", *ckpt, "--compare")[0] == 0
    assert (tmp_path / "folder" / "one.jpg").is_file() and (tmp_path / "folder-compare" / "one.jpg").is_file()


# ------------------------------------------------------------------------------------------------ early errors
@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("inside", "is inside --in"),
        ("same", "is inside --in"),
        ("missing", "does not exist"),
        ("file-as-out", "is a file, but --in"),
        ("onto-itself", "would replace the input photo itself"),
    ],
)
def test_bad_paths_fail_before_any_work(
    tmp_path: Path, tiny_generator_ckpt: Path, capsys: pytest.CaptureFixture[str], where: str, message: str
) -> None:
    src = tmp_path / "photos"
    src.mkdir()
    cv2.imwrite(str(src / "p.png"), rgb_image(16, 16))
    inp, out = {
        "inside": (src, src / "colour"),
        "same": (src, src),
        "missing": (tmp_path / "nope", tmp_path / "out"),
        "file-as-out": (src, src / "p.png"),
        "onto-itself": (src / "p.png", src),
    }[where]
    before = files_under(tmp_path)
    code, _, stderr = run(capsys, "--in", inp, "--out", out, "--ckpt", tiny_generator_ckpt, "--overwrite")
    assert code == 2 and stderr.startswith("error: ") and message in stderr
    assert files_under(tmp_path) == before


def test_not_a_generator_fails_before_any_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from safetensors.torch import save_file

    src = tmp_path / "photos"
    src.mkdir()
    cv2.imwrite(str(src / "p.png"), rgb_image(16, 16))
    (tmp_path / "text.pt").write_text("hello")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    save_file({"w": torch.zeros(2)}, str(tmp_path / "other.safetensors"))
    for ckpt in ("text.pt", "other.pt", "other.safetensors", "missing.pt"):
        code, _, stderr = run(capsys, "--in", src, "--out", tmp_path / "out", "--ckpt", tmp_path / ckpt)
        assert code == 2 and stderr.startswith("error: ") and str(tmp_path / ckpt) in stderr
        assert "this project" in stderr or "does not exist" in stderr
        assert not (tmp_path / "out").exists()


def test_plan_counts_existing_outputs(tmp_path: Path) -> None:
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    out.mkdir()
    for name in ("a.png", "b.png"):
        cv2.imwrite(str(src / name), rgb_image(8, 8))
    (out / "a.png").write_bytes(b"x")
    plan = make_plan(src, out, compare=True)
    assert plan.skipped == 0 and [(j.src.name, j.dst) for j in plan.jobs] == [("a.png", None), ("b.png", out / "b.png")]
    assert plan.jobs[0].compare == tmp_path / "out-compare" / "a.png"  # only the missing compare image is made


# ------------------------------------------------------------------------------------------- pipeline and merge
def test_batching_and_threads_do_not_change_results(
    tmp_path: Path, vivid_ckpt: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for i in range(6):
        cv2.imwrite(str(src / f"p{i}.png"), rgb_image(20 + 3 * i, 30, seed=i))
    ckpt = ("--ckpt", vivid_ckpt)
    run(capsys, "--in", src, "--out", tmp_path / "serial", *ckpt, "--batch-size", "1", "--workers", "1")
    run(capsys, "--in", src, "--out", tmp_path / "batched", *ckpt, "--batch-size", "4", "--workers", "3")
    for i in range(6):
        a = read_photo(tmp_path / "serial" / f"p{i}.png").pixels.astype(int)
        b = read_photo(tmp_path / "batched" / f"p{i}.png").pixels.astype(int)
        assert np.abs(a - b).max() <= 1  # each photo got its own colours, whatever the batch it was in


def test_memory_budget_holds_one_photo_at_a_time(tmp_path: Path, tiny_generator_ckpt: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for i in range(5):
        cv2.imwrite(str(src / f"p{i}.png"), rgb_image(40, 60, seed=i))
    plan = make_plan(src, tmp_path / "out")
    held: list[int] = []

    class Watched(Pipeline):
        def _take_decoded(self) -> None:
            super()._take_decoded()
            held.append(self.held)

    done: list[Path] = []
    model = Colorizer.load(tiny_generator_ckpt, "cpu")
    Watched(model, Options(batch_size=4, workers=2), lambda job, _: done.append(job.src), pytest.fail, budget=1).run(
        plan.jobs
    )
    assert sorted(done) == sorted(j.src for j in plan.jobs)
    one = 40 * 60 * 3
    assert max(held[:2]) <= 2 * one  # sizes still unknown: at most one photo per worker
    assert max(held[2:]) == one  # then never more than one decoded photo held, even with a batch of 4


def test_strip_merge_matches_whole_image(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(0)
    ab_small = rng.uniform(-0.8, 0.8, size=(2, 64, 64)).astype(np.float32)
    rgb = rng.random((45, 70, 3), dtype=np.float32)
    lab = rgb_to_lab(rgb)
    lab[..., 1:] = cv2.resize(ab_small.transpose(1, 2, 0), (70, 45), interpolation=cv2.INTER_LINEAR) * 128.0
    whole = lab_to_rgb(lab)
    monkeypatch.setattr(colorize, "STRIP_PIXELS", 70 * 4 + 3)  # 4 rows per strip
    np.testing.assert_allclose(render(rgb, ab_small, order="rgb"), whole, atol=1e-4)
    bgra16 = np.dstack([(whole[..., ::-1] * 65535 + 0.5).astype(np.uint16), np.full((45, 70), 7, np.uint16)])
    expected = render(bgra16, ab_small)
    float_path = render(pixels_to_rgb(bgra16), ab_small, order="rgb")
    same = render(bgra16, ab_small, out=bgra16)  # in place, as infer.py does it
    assert same is bgra16 and expected.dtype == np.uint16
    np.testing.assert_array_equal(same, expected)
    assert (same[..., 3] == 7).all()
    np.testing.assert_allclose(pixels_to_rgb(same), float_path, atol=1e-4)  # 16-bit path = float path, rounded


def test_float_api_matches_the_cli(tmp_path: Path, vivid_ckpt: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in"
    src.mkdir()
    cv2.imwrite(str(src / "p.png"), rgb_image(50, 70, seed=3))
    run(capsys, "--in", src, "--out", tmp_path / "out", "--ckpt", vivid_ckpt)
    model = Colorizer.load(vivid_ckpt, "cpu")
    float_rgb = model.colorize([read_photo(src / "p.png").rgb])[0]
    written = read_photo(tmp_path / "out" / "p.png").rgb
    assert np.abs(float_rgb - written).max() < 2.5 / 255
    np.testing.assert_array_equal(
        model.colorize_photos([read_photo(src / "p.png")])[0], read_photo(tmp_path / "out" / "p.png").pixels
    )
