"""mft's dtype conversions against numpy + ml_dtypes, bit for bit.

tools/gen_dtype_oracle.py writes an oracle file (about 20k float64 and 20k
float32 inputs: random magnitudes, subnormals, exact ties and one ulp either
side for every target type, overflow, NaN, +-Inf, +-0; plus every code of
F16/BF16/F8*/F4) with the encodings numpy and ml_dtypes give, and the C
checker $MFT_BUILD/dtype_oracle_check (default build/asan) compares
src/core/dtype.c with them.

A missing checker binary or a missing numpy/ml_dtypes is a clear failure,
never a skip (as for the CLI tests): build with `make asan`, run with the
python of scripts/venv.sh.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _need_references():
    for mod in ("numpy", "ml_dtypes"):
        try:
            __import__(mod)
        except ImportError:
            pytest.fail(f"{mod} is not importable by {sys.executable}; run pytest "
                        "with the python of scripts/venv.sh --print-python",
                        pytrace=False)


def _checker():
    build = Path(os.environ.get("MFT_BUILD", "build/asan"))
    if not build.is_absolute():
        build = ROOT / build
    exe = build / "dtype_oracle_check"
    if not exe.is_file() or not os.access(exe, os.X_OK):
        pytest.fail(f"{exe} not built (make asan, or set MFT_BUILD)", pytrace=False)
    return exe


def test_dtype_oracle(tmp_path):
    _need_references()
    exe = _checker()
    oracle = tmp_path / "dtype_oracle.bin"
    gen = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_dtype_oracle.py"),
         "--out", str(oracle), "--seed", "20240611"],
        capture_output=True, text=True, timeout=300)
    assert gen.returncode == 0, gen.stdout + gen.stderr
    run = subprocess.run([str(exe), str(oracle)], capture_output=True,
                         text=True, timeout=300)
    report = run.stdout + run.stderr
    assert run.returncode == 0, report
    assert "values checked, 0 mismatches" in report, report


def test_dtype_oracle_selfcheck(tmp_path):
    """The references themselves round to nearest-even straight from float64
    (the premise of the comparison above)."""
    _need_references()
    gen = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_dtype_oracle.py"),
         "--out", str(tmp_path / "o.bin"), "--seed", "7", "--selfcheck"],
        capture_output=True, text=True, timeout=300)
    assert gen.returncode == 0, gen.stdout + gen.stderr
    assert "selfcheck: 0 inputs" in gen.stdout
