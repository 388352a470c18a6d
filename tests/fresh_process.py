"""Run the project's entry points in a fresh interpreter and see which modules they loaded.

The module list is ``sys.modules`` as the interpreter exits (written by an ``atexit`` hook), so every import counts,
``importlib`` ones included, whatever the command printed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARK = "\nmodules loaded at exit: "

RUNNER = """\
import atexit, json, runpy, sys
atexit.register(lambda: sys.stderr.write({mark!r} + json.dumps(sorted(sys.modules)) + "\\n"))
how, target, *args = sys.argv[1:]
sys.argv = [target, *args]
if how == "-m":
    runpy.run_module(target, run_name="__main__", alter_sys=True)
elif how == "-c":
    exec(compile(target, "<string>", "exec"), {{"__name__": "__main__"}})
else:
    runpy.run_path(target, run_name="__main__")
"""


def run_python(*args: str, timeout: float = 120) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """``python -m MODULE ARGS``, ``python SCRIPT ARGS`` or ``python -c CODE`` from the repository root.

    Returns the finished process (its stderr without the module list) and the names of the modules it loaded.
    """
    how, rest = (args[0], args[1:]) if args[0] in ("-m", "-c") else ("script", args)
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER.format(mark=MARK), how, *rest],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    stderr, found, listed = proc.stderr.rpartition(MARK)
    assert found, f"the process ended before its module list was written: {proc.stderr[-2000:]}"
    proc.stderr = stderr
    return proc, set(json.loads(listed))


def torch_modules(modules: set[str]) -> list[str]:
    """The torch modules among ``modules``, sorted."""
    return sorted(m for m in modules if m == "torch" or m.startswith("torch."))
