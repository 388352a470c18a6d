"""The commands draw the progress bars the library reports through ``on_progress(done, total)``."""

from __future__ import annotations

import pytest

from unet_resnet.cli.progress import ProgressBar


def test_the_bar_follows_the_reports_with_the_library_s_total(capsys: pytest.CaptureFixture[str]) -> None:
    with ProgressBar("evaluate", "photo") as bar:
        bar(2, 5)
        bar(5, 5)
        assert bar.bar is not None and (bar.bar.n, bar.bar.total) == (5, 5)
    assert "evaluate" in capsys.readouterr().err and "5/5" in bar.bar.__str__()


def test_quiet_draws_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with ProgressBar("evaluate", "photo", enabled=False) as bar:
        bar(1, 2)
    assert bar.bar is None and capsys.readouterr().err == ""
