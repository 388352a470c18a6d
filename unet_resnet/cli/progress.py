"""Progress bars for the commands: the library reports ``on_progress(done, total)`` and never draws; this draws."""

from __future__ import annotations

from types import TracebackType

from tqdm import tqdm


class ProgressBar:
    """A tqdm bar fed by a library's ``on_progress(done, total)`` callback.

    The bar is made at the first report, so the library, which knows the total (after a scan, a ``--limit``), sets
    it. ``enabled=False`` (``--quiet``) draws nothing. Use as a context manager so the bar closes on errors too.
    """

    def __init__(self, desc: str, unit: str, enabled: bool = True) -> None:
        self.desc, self.unit, self.enabled = desc, unit, enabled
        self.bar: tqdm | None = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            self.bar = tqdm(total=total, unit=self.unit, desc=self.desc)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
