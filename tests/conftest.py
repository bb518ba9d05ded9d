"""Shared pytest fixtures for mft's CLI tests.

The binary under test comes from the environment variable MFT (tests/run.py passes it through); without
it, build/asan/mft relative to the repository root.  A missing binary is a clear failure, never a skip.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent
DEFAULT_MFT = REPO_ROOT / "build" / "asan" / "mft"

# Make the helper modules next to this file importable from every test module.
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

# Any of these on stderr means the (sanitizer) build hit a memory or UB error, whatever the exit code.
SANITIZER_MARKERS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "ERROR: UndefinedBehaviorSanitizer",
    "AddressSanitizer:DEADLYSIGNAL",
    "runtime error:",
)


class MftResult:
    """Outcome of one mft run: .rc, .out / .err (str), .stdout / .stderr (bytes), .args."""

    def __init__(self, args, rc, stdout, stderr):
        self.args = args
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.out = stdout.decode("utf-8", errors="replace")
        self.err = stderr.decode("utf-8", errors="replace")

    def json(self):
        """stdout parsed as strict JSON (NaN/Infinity literals are rejected, as jq would)."""

        def reject(const):
            raise ValueError(f"non-standard JSON constant {const!r} in mft output")

        try:
            return json.loads(self.out, parse_constant=reject)
        except ValueError as e:
            raise AssertionError(f"mft output is not strict JSON ({e}):\n{self.describe()}") from None

    def describe(self, limit=2000):
        out = self.out if len(self.out) <= limit else self.out[:limit] + "…"
        err = self.err if len(self.err) <= limit else self.err[:limit] + "…"
        return f"$ mft {' '.join(self.args)}\nexit status {self.rc}\n--- stdout\n{out}\n--- stderr\n{err}"

    def __repr__(self):
        return f"MftResult(rc={self.rc}, args={self.args!r})"


@pytest.fixture(scope="session")
def mft_bin():
    env = os.environ.get("MFT")
    path = Path(os.path.abspath(env)) if env else DEFAULT_MFT
    if not path.is_file() or not os.access(path, os.X_OK):
        origin = "$MFT" if env else "the default build/asan/mft"
        pytest.fail(
            f"mft binary not found or not executable: {path} (from {origin}); "
            "build it first (make) or set MFT=/path/to/mft",
            pytrace=False,
        )
    return str(path)


@pytest.fixture(scope="session")
def run_mft(mft_bin):
    """run_mft(*args, check=None, input=None, timeout=120, cwd=None) -> MftResult.

    check=None: no assertion on the exit status; check=True or an int: assert that exit status (True = 0).
    Always asserts that no sanitizer report appeared on stderr.
    """

    def run(*args, check=None, input=None, timeout=120, cwd=None):
        argv = [str(a) for a in args]
        proc = subprocess.run(
            [mft_bin, *argv],
            input=input,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            timeout=timeout,
            cwd=cwd,
        )
        res = MftResult(argv, proc.returncode, proc.stdout, proc.stderr)
        for marker in SANITIZER_MARKERS:
            assert marker not in res.err, f"sanitizer report from mft:\n{res.describe(20000)}"
        if check is True:
            check = 0
        if check is not None and check is not False:
            assert res.rc == check, f"expected exit status {check}:\n{res.describe()}"
        return res

    return run


@pytest.fixture(scope="session")
def shared_dir():
    """The project's shared/ folder (corpora, reference notes), beside the repository root."""
    path = REPO_ROOT.parent / "shared"
    if not path.is_dir():
        pytest.skip(f"shared folder not found at {path}")
    return path


# ---- PyTorch oracle -------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def torch113_fixtures(tmp_path_factory):
    """Fixture files written at test time by Debian's python3-torch 1.13 (/usr/bin/python3 running
    tools/gen_torch_fixtures.py), as (directory, manifest).  A missing Debian torch is a clear failure
    of the tests that need it (scripts/install-deps.sh installs python3-torch), never a skip."""
    import torch_util as tu

    probe = subprocess.run([tu.DEBIAN_PYTHON, "-c", "import torch, numpy; print(torch.__version__)"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    if probe.returncode != 0:
        pytest.fail(
            f"Debian's torch is not importable by {tu.DEBIAN_PYTHON} (needed to write the PyTorch "
            "fixtures): install python3-torch and python3-numpy (scripts/install-deps.sh does).\n"
            + probe.stderr.decode("utf-8", "replace")[-2000:],
            pytrace=False,
        )
    out = tmp_path_factory.mktemp("torch113")
    gen = subprocess.run([tu.DEBIAN_PYTHON, str(tu.GENERATOR), str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600, cwd=REPO_ROOT)
    if gen.returncode != 0:
        pytest.fail(f"tools/gen_torch_fixtures.py failed under Debian torch "
                    f"({probe.stdout.decode().strip()}), exit status {gen.returncode}:\n"
                    + gen.stderr.decode("utf-8", "replace")[-4000:], pytrace=False)
    return out, tu.load_manifest(out)


@pytest.fixture(scope="session")
def mft_release_bin():
    """The release (non-sanitizer) build, for runs under an address-space limit that ASan cannot
    start with: $MFT_RELEASE (make test sets it), else build/mft."""
    env = os.environ.get("MFT_RELEASE")
    path = Path(os.path.abspath(env)) if env else REPO_ROOT / "build" / "mft"
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(f"release mft binary not found or not executable: {path}; build it (make) or set "
                    "MFT_RELEASE=/path/to/mft", pytrace=False)
    return str(path)
