"""CLI golden tests: stdout, stderr and exit status of each command in
tests/golden/cases.txt, run from the repository root, compared with the files
tests/golden/<name>.{out,err,rc}. Regenerate after an intended change with
MFT_UPDATE_GOLDEN=1 (then review the diff)."""
import os
import shlex
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"


def cases():
    out = []
    for line in (GOLDEN / "cases.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, _, args = line.partition("|")
        out.append((name.strip(), shlex.split(args)))
    return out


@pytest.mark.parametrize("name,args", cases(), ids=[c[0] for c in cases()])
def test_golden(name, args, mft_bin):
    res = subprocess.run([str(mft_bin)] + args, cwd=ROOT, capture_output=True, timeout=60)
    got = {"out": res.stdout, "err": res.stderr, "rc": f"{res.returncode}\n".encode()}
    if os.environ.get("MFT_UPDATE_GOLDEN"):
        for ext, data in got.items():
            (GOLDEN / f"{name}.{ext}").write_bytes(data)
    for ext, data in got.items():
        want = (GOLDEN / f"{name}.{ext}").read_bytes()
        assert data.decode(errors="replace") == want.decode(errors="replace"), f"{name}.{ext}"
    # the contract every command keeps: errors exit 2 with one "mft: " line first, no stdout
    if res.returncode == 2:
        assert res.stdout == b""
        assert res.stderr.startswith(b"mft: ")
