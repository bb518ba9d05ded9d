"""`make install` gives a usable library: the header, libmft.a/.so and mft.pc;
a C program built with pkg-config against it reads a real safetensors file
and agrees with the CLI (names, dtypes, shapes, digests). The shared library
exports only the public mft_ prefix."""
import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "tiny-gpt.safetensors"


def test_install_and_build_client(tmp_path, run_mft):
    prefix = tmp_path / "prefix"
    subprocess.run(["make", "-s", "install", f"PREFIX={prefix}"], cwd=ROOT, check=True,
                   capture_output=True, timeout=600)
    for rel in ["bin/mft", "include/mft.h", "lib/libmft.a", "lib/libmft.so", "lib/pkgconfig/mft.pc"]:
        assert (prefix / rel).exists(), rel
    env = dict(os.environ, PKG_CONFIG_PATH=str(prefix / "lib" / "pkgconfig"))
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "mft"], env=env, check=True,
                           capture_output=True, text=True).stdout.split()
    assert f"-I{prefix}/include" in flags
    exe = tmp_path / "list_tensors"
    subprocess.run(["cc", "-std=c11", "-Wall", "-Werror", str(ROOT / "examples" / "list_tensors.c"),
                    *flags, "-o", str(exe)], check=True, capture_output=True, env=env)
    out = subprocess.run([str(exe), str(EXAMPLE)], check=True, capture_output=True, text=True,
                         env=dict(env, LD_LIBRARY_PATH=str(prefix / "lib"))).stdout.splitlines()
    assert out[0].startswith(f"{EXAMPLE} (safetensors), libmft ")
    want = run_mft("ls", str(EXAMPLE), "--json", "--hash").json()["tensors"]
    got = [line.split(" ") for line in out[1:]]
    assert [g[0] for g in got] == [t["name"] for t in want]
    for g, t in zip(got, want):
        assert g[1] == t["dtype"]
        assert json.loads(g[2]) == t["shape"]
        assert g[3] == t["sha256"]
    # a malformed file: the C client gets a code and a message naming the file
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\0\0\0\0\0\0\0{}")
    res = subprocess.run([str(exe), str(bad)], capture_output=True, text=True,
                         env=dict(env, LD_LIBRARY_PATH=str(prefix / "lib")))
    assert res.returncode == 2
    assert res.stderr.startswith(f"MFT_ERR_CORRUPT: {bad}: header: header length 16 runs past end of file")


def test_shared_library_exports_only_public_api():
    lib = ROOT / "build" / "libmft.so"
    syms = subprocess.run(["nm", "-D", "--defined-only", str(lib)], check=True, capture_output=True,
                          text=True).stdout.split("\n")
    names = [line.split()[-1] for line in syms if line.strip() and line.split()[1] in "TDBR"]
    assert names, "no exported symbols"
    assert all(n.startswith("mft_") for n in names), [n for n in names if not n.startswith("mft_")]
