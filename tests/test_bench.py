"""bench/ stays runnable: every module imports, and every script answers --help, as `python -m bench.NAME`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# What needs the `bench` extra (PyMuPDF and pypdf to compare PDF parsers, psutil to read memory), which the test
# environment does not install: those modules are left to `make bench` and `make bench-pdf`.
BENCH_EXTRA = {"bench.pdf_pages", "bench.pdf_parsers", "bench.perf.worker"}
MODULES = sorted({".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                  for path in (ROOT / "bench").rglob("*.py")} - BENCH_EXTRA)
SCRIPTS = ["bench.calibrate", "bench.calibrate_verifier", "bench.combined", "bench.finance", "bench.finance_short",
           "bench.names",
           "bench.stores", "bench.sweep_answer", "bench.perf"]


def test_every_bench_module_imports() -> None:
    assert {"bench.paths", "bench.perf.__main__", "bench.perf.env", *SCRIPTS} <= {*MODULES, "bench.perf"}
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    done = subprocess.run([sys.executable, "-c", code, *MODULES], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_bench_script_answers_help(script: str) -> None:
    done = subprocess.run([sys.executable, "-m", script, "--help"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "usage" in done.stdout.lower()
