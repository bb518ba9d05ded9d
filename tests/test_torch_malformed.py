"""Malformed and hostile PyTorch / pickle inputs, crafted byte by byte.

The base file is a torch.save-style zip (stored members under `archive/`: data.pkl, byteorder,
data/0, version) holding {'w': 2x3 F32 tensor}; its pickle is assembled opcode by opcode
(torch_util.P), so each case changes exactly one thing.  test_base_file_is_valid proves the base
is what torch writes and loads (Debian torch, weights_only=True); test_torch_refuses_* proves the
structural cases are malformed for torch too.  Truncations start from a real torch 2.x file
(tests/fixtures/torch2/sd_mlp.pt).  The hostile pickles are never given to torch or pickle.

The contract for every case that expects an error:
  * exit status 2, nothing on stdout, stderr starts with `mft: <path>` and matches the case's
    distinctive phrase (case-insensitive regex);
  * pickle errors name the member (`data.pkl`) when the pickle is inside a zip and carry
    `(at byte N)`: N = offset of the offending opcode (for a pickle that ends without STOP: its
    end), counted from the start of the file; inside a zip, counting from the start of the member's
    data is accepted too (the member is named, so both are unambiguous).  For limit errors (nesting
    depth, memo entries) N must lie inside the pickle but is not pinned down;
  * bounded time and memory: each case runs twice, the ASan build (MFT) with
    ASAN_OPTIONS=max_allocation_size_mb=1024:hard_rss_limit_mb=1024 (ASan cannot start under an
    address-space limit) and the release build (MFT_RELEASE, default build/mft) under
    RLIMIT_AS = 1 GiB; each run has a 20 s timeout.

Decisions for the hostile-but-well-formed cases (documented here, tested below):
  * a pickle that calls a global off the allowlist (`os.system`, `builtins.eval`,
    `subprocess.Popen` via REDUCE): nothing is executed (the marker file the command would create
    never appears); `mft ls` succeeds (exit 0) and lists the tensors it can find — the call is an
    inert symbolic value, and judging it is `mft scan`'s job;
  * a LONG_BINPUT at index 0xFFFFFFF0 read back by LONG_BINGET (legal pickle, hostile index): either
    works (exit 0, sparse memo) or is refused as a memo limit (exit 2, "memo"); memory stays bounded
    either way;
  * more memo entries than MFT_DEFAULT_PICKLE_MEMO (2^24) and nesting deeper than
    MFT_DEFAULT_PICKLE_DEPTH (10000): refused (exit 2), though Python would accept both.
"""

import json
import os
import re
import resource
import struct
import subprocess
import textwrap

import pytest

import torch_util as tu
from torch_util import P

TIMEOUT = 20
AS_LIMIT = 1 << 30
ASAN_BOUNDS = "max_allocation_size_mb=1024:hard_rss_limit_mb=1024"
MARKER = "MFT_PWNED_MARKER"

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "ERROR: UndefinedBehaviorSanitizer",
                     "AddressSanitizer:DEADLYSIGNAL", "runtime error:")


# ---- building blocks -------------------------------------------------------------------------------

def base_pickle():
    return tu.state_dict_pickle([("w", tu.tensor_ops())])


def base_zip(**members):
    m = tu.base_members()
    m.update(members)
    return tu.torch_zip({k: v for k, v in m.items() if v is not None})


def zip_with_pickle(pkl):
    return base_zip(**{"data.pkl": pkl})


def pickle_with(prefix, bad, suffix=b""):
    """A pickle `prefix + bad + suffix`, and the offset of `bad` in it."""
    return prefix + bad + suffix, len(prefix)


def real_torch_file():
    return (tu.TORCH2_DIR / "sd_mlp.pt").read_bytes()


def truncated(keep):
    blob = real_torch_file()
    n = keep(len(blob))
    assert 0 < n < len(blob)
    return blob[:n]


# ---- pickle-level cases: (pickle bytes, offset of the culprit or None, regex) ----------------------

def bad_opcode():
    # the value of 'w' replaced by opcode 0xFF (not a pickle opcode)
    prefix = P.PROTO2 + P.EMPTY_DICT + P.MARK + P.str("w")
    return pickle_with(prefix, b"\xff", P.SETITEMS + P.STOP)


def memo_get_missing():
    prefix = P.PROTO2 + P.EMPTY_DICT + P.MARK + P.str("w")
    return pickle_with(prefix, P.long_binget(0xFFFFFFFE), P.SETITEMS + P.STOP)


def memo_huge_put_then_missing_get():
    # the error may come at the LONG_BINPUT (index over the memo limit) or at the LONG_BINGET (unset)
    head = P.PROTO2 + P.EMPTY_DICT + P.MARK + P.str("w") + P.EMPTY_LIST
    put = P.long_binput(0xFFFFFFFF)
    pkl, get_at = pickle_with(head + put + P.SETITEMS + P.MARK + P.str("v"), P.long_binget(0xFFFFFFFE),
                              P.SETITEMS + P.STOP)
    return pkl, (len(head), get_at)


def binget_unset():
    prefix = P.PROTO2 + P.EMPTY_DICT + P.MARK + P.str("w")
    return pickle_with(prefix, b"h\x07", P.SETITEMS + P.STOP)


def huge_length(op, length_bytes):
    prefix = P.PROTO4 + P.EMPTY_DICT + P.MARK + P.str("w")
    return pickle_with(prefix, op + length_bytes + b"abc", P.SETITEMS + P.STOP)


def memo_entries_over_limit():
    # 2^24 + 1 MEMOIZE of one list: each makes a new memo entry (protocol 4)
    n = (1 << 24) + 1
    pkl = P.PROTO4 + P.EMPTY_DICT + P.str("w") + P.EMPTY_LIST + P.MEMOIZE * n + P.SETITEM + P.STOP
    return pkl, None


def nested_lists(depth=100_000):
    # ] ] ] ... a a a: each list appended into the one below it -> depth-deep nesting
    body = P.EMPTY_LIST * (depth + 1) + P.APPEND * depth
    return P.PROTO2 + P.EMPTY_DICT + P.str("w") + body + P.SETITEM + P.STOP, None


def nested_tuples(depth=100_000):
    body = P.MARK * depth + P.EMPTY_TUPLE + P.TUPLE * depth
    return P.PROTO2 + P.EMPTY_DICT + P.str("w") + body + P.SETITEM + P.STOP, None


def marks_only(count=100_000):
    return P.PROTO2 + P.MARK * count + P.STOP, None


def no_stop():
    return P.PROTO2 + P.EMPTY_DICT + P.MARK + P.str("w") + P.int(1) + P.SETITEMS, None


PICKLE_CASES = {
    "bad_opcode": (bad_opcode, r"opcode"),
    "memo_get_missing": (memo_get_missing, r"memo"),
    "binget_unset": (binget_unset, r"memo"),
    "memo_huge_put_then_missing_get": (memo_huge_put_then_missing_get, r"memo"),
    "binunicode8_2e62": (lambda: huge_length(b"\x8d", struct.pack("<Q", 1 << 62)),
                         r"length|past (the )?end|truncat|exceed|too (long|large)"),
    "binbytes8_2e62": (lambda: huge_length(b"\x8e", struct.pack("<Q", 1 << 62)),
                       r"length|past (the )?end|truncat|exceed|too (long|large)"),
    "binunicode_4g": (lambda: huge_length(b"X", struct.pack("<I", 0xFFFFFFFF)),
                      r"length|past (the )?end|truncat|exceed|too (long|large)"),
    "long4_2g": (lambda: huge_length(b"\x8b", struct.pack("<i", 0x7FFFFFFF)),
                 r"length|past (the )?end|truncat|exceed|too (long|large)"),
    "memo_entries_over_limit": (memo_entries_over_limit, r"memo"),
    "nested_lists_100k": (nested_lists, r"depth|nest"),
    "nested_tuples_100k": (nested_tuples, r"depth|nest"),
    "marks_100k_then_stop": (marks_only, r"mark|stack|depth|nest"),
    "no_stop": (no_stop, r"STOP|end of (the )?(pickle|data|file|member)|truncat"),
}

# ---- zip-level and tensor-level cases: (file bytes, regex) -----------------------------------------


def tensor_zip(storage=tu.BASE_STORAGE, **ops):
    return base_zip(**{"data.pkl": tu.state_dict_pickle([("w", tu.tensor_ops(**ops))]), "data/0": storage})


ZIP_CASES = {
    "empty_file": (lambda: b"", r"empty"),
    "truncated_after_magic": (lambda: truncated(lambda n: 4), r"central directory|truncat|end of (the )?file"),
    "truncated_at_200": (lambda: truncated(lambda n: 200), r"central directory|truncat|end of (the )?file"),
    "truncated_in_half": (lambda: truncated(lambda n: n // 2), r"central directory|truncat|end of (the )?file"),
    "truncated_in_central_directory": (lambda: truncated(lambda n: n - 150),
                                       r"central directory|truncat|end of (the )?file"),
    "truncated_in_end_record": (lambda: truncated(lambda n: n - 10),
                                r"central directory|truncat|end of (the )?file"),
    "truncated_last_byte": (lambda: truncated(lambda n: n - 1), r"central directory|truncat|end of (the )?file"),
    "no_data_pkl": (lambda: tu.rename_member(base_zip(), "archive/data.pkl", "archive/data.pkx"), r"data\.pkl"),
    "storage_record_missing": (lambda: tensor_zip(key="7"), r"data/7"),
    "storage_record_shorter_than_pid": (lambda: tensor_zip(storage=tu.BASE_STORAGE[:20]),
                                        r"data/0.*(short|size|bytes|expect)|(short|size|bytes|expect).*data/0"),
    "tensor_past_storage_offset": (lambda: tensor_zip(offset=1), r"storage|bounds|past|exceed"),
    "tensor_past_storage_stride": (lambda: tensor_zip(stride=(4, 1)), r"storage|bounds|past|exceed"),
    "tensor_past_storage_shape": (lambda: tensor_zip(size=(3, 3)), r"storage|bounds|past|exceed"),
    "tensor_needs_more_than_pid": (lambda: tensor_zip(storage=tu.BASE_STORAGE[:20], storage_numel=5),
                                   r"storage|bounds|past|exceed"),
    "tensor_shape_overflow": (lambda: tensor_zip(size=(1 << 62, 1 << 62), stride=(1, 1)),
                              r"overflow|too large|storage|bounds|past|exceed"),
    "tensor_negative_stride": (lambda: tensor_zip(stride=(-3, 1)), r"stride|negative"),
    "tensor_negative_offset": (lambda: tensor_zip(offset=-1), r"offset|negative"),
    "tensor_negative_size": (lambda: tensor_zip(size=(-2, 3)), r"size|shape|negative"),
}


# ---- running mft bounded ---------------------------------------------------------------------------

def _limit_as():
    resource.setrlimit(resource.RLIMIT_AS, (AS_LIMIT, AS_LIMIT))


class Run:
    def __init__(self, label, argv, proc):
        self.label, self.argv = label, argv
        self.rc = proc.returncode
        self.out = proc.stdout.decode("utf-8", "replace")
        self.err = proc.stderr.decode("utf-8", "replace")

    def describe(self):
        return (f"[{self.label}] $ {' '.join(self.argv)}\nexit status {self.rc}\n--- stdout\n{self.out[:2000]}\n"
                f"--- stderr\n{self.err[:2000]}")


def run_bounded(binary, label, *args, cwd=None):
    argv = [binary, *map(str, args)]
    env = dict(os.environ)
    if label == "asan":
        env["ASAN_OPTIONS"] = ":".join(x for x in (env.get("ASAN_OPTIONS"), ASAN_BOUNDS) if x)
        preexec = None
    else:
        preexec = _limit_as
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT,
                              preexec_fn=preexec, env=env, cwd=cwd)
    except subprocess.TimeoutExpired:
        pytest.fail(f"[{label}] mft {' '.join(map(str, args))} ran past {TIMEOUT} s", pytrace=False)
    r = Run(label, argv, proc)
    for marker in SANITIZER_MARKERS:
        assert marker not in r.err, f"sanitizer report:\n{r.describe()}"
    assert r.rc >= 0, f"killed by signal {-r.rc}:\n{r.describe()}"
    return r


@pytest.fixture
def both(mft_bin, mft_release_bin):
    """run(*args) -> [asan Run, release Run]"""
    def run(*args, cwd=None):
        return [run_bounded(mft_bin, "asan", *args, cwd=cwd),
                run_bounded(mft_release_bin, "release", *args, cwd=cwd)]
    return run


AT_BYTE = re.compile(r"\(at byte (\d+)\)")


def check_error(r, path, pattern, *, member=None, offset=None, pickle_len=None, base=0):
    """`offset`: an int or a tuple of acceptable ints, relative to the pickle's first byte, which is at
    file offset `base` (0 for a raw pickle); N may count from the file or from the pickle."""
    assert r.rc == 2, r.describe()
    assert r.out == "", f"nothing may be printed on stdout:\n{r.describe()}"
    assert r.err.startswith(f"mft: {path}"), f"stderr must start with 'mft: {path}':\n{r.describe()}"
    assert re.search(pattern, r.err, re.IGNORECASE), f"stderr should match /{pattern}/i:\n{r.describe()}"
    if member:
        assert member in r.err, f"stderr should name the member {member}:\n{r.describe()}"
    if offset is not None or pickle_len is not None:
        m = AT_BYTE.search(r.err)
        assert m, f"stderr should say (at byte N):\n{r.describe()}"
        n = int(m.group(1))
        if offset is not None:
            rel = offset if isinstance(offset, tuple) else (offset,)
            allowed = sorted(set(rel) | {base + o for o in rel})
            assert n in allowed, f"(at byte {n}), want (at byte {' or '.join(map(str, allowed))}):\n{r.describe()}"
        else:
            ok = 0 <= n <= pickle_len or base <= n <= base + pickle_len
            assert ok, f"(at byte {n}) outside the {pickle_len}-byte pickle at file offset {base}:\n{r.describe()}"


# ---- the tests -------------------------------------------------------------------------------------

# (cmd, case): every case with `ls`; with `show` too, except the 16 MiB memo case (time)
PICKLE_RUNS = [("ls", c) for c in PICKLE_CASES] + [("show", c) for c in PICKLE_CASES
                                                    if c != "memo_entries_over_limit"]


@pytest.mark.parametrize("container", ["zip", "raw"])
@pytest.mark.parametrize("cmd,case", PICKLE_RUNS, ids=[f"{c}-{k}" for c, k in PICKLE_RUNS])
def test_malformed_pickle(cmd, case, container, tmp_path, both):
    build, pattern = PICKLE_CASES[case]
    pkl, offset = build()
    if container == "zip":
        path = tmp_path / f"{case}.pt"
        blob = zip_with_pickle(pkl)
        base = tu.member_data_offset(blob, "archive/data.pkl")
        member = "data.pkl"
    else:
        path = tmp_path / f"{case}.pkl"
        blob, base, member = pkl, 0, None
    path.write_bytes(blob)
    args = [cmd, path] + (["--json"] if cmd == "ls" else [])
    for r in both(*args):
        check_error(r, path, pattern, member=member, offset=offset, base=base,
                    pickle_len=None if offset is not None else len(pkl))


@pytest.mark.parametrize("case", list(ZIP_CASES))
@pytest.mark.parametrize("cmd", ["ls", "info"])
def test_malformed_zip(cmd, case, tmp_path, both):
    build, pattern = ZIP_CASES[case]
    path = tmp_path / f"{case}.pt"
    path.write_bytes(build())
    for r in both(cmd, path, "--json"):
        check_error(r, path, pattern)


@pytest.mark.parametrize("case", ["truncated_in_half", "no_data_pkl", "storage_record_shorter_than_pid",
                                  "tensor_past_storage_offset"])
def test_malformed_convert_leaves_nothing(case, tmp_path, both):
    build, pattern = ZIP_CASES[case]
    path = tmp_path / f"{case}.pt"
    path.write_bytes(build())
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    for r in both("convert", path, out_dir / "o.safetensors"):
        check_error(r, path, pattern)
        assert os.listdir(out_dir) == [], "convert of a malformed input left files behind"


def test_huge_memo_index_is_bounded(tmp_path, both):
    """LONG_BINPUT 0xFFFFFFF0 + LONG_BINGET 0xFFFFFFF0: legal; works or is refused as a memo limit."""
    pkl = (P.PROTO2 + P.EMPTY_DICT + P.MARK + P.str("w") + tu.tensor_ops() + P.str("x") + P.int(5)
           + P.long_binput(0xFFFFFFF0) + P.str("y") + P.long_binget(0xFFFFFFF0) + P.SETITEMS + P.STOP)
    path = tmp_path / "huge_index.pt"
    path.write_bytes(zip_with_pickle(pkl))
    for r in both("ls", path, "--json"):
        if r.rc == 0:
            assert [t["name"] for t in tu.parse_json(r.out)["tensors"]] == ["w"], r.describe()
        else:
            check_error(r, path, r"memo", member="data.pkl")


# ---- globals off the allowlist: inert ------------------------------------------------------------

def call_ops(module, name, arg):
    return P.glob(module, name) + P.MARK + P.str(arg) + P.TUPLE + P.REDUCE


HOSTILE_CALLS = {
    "os_system": ("os", "system"),
    "posix_system": ("posix", "system"),
    "builtins_eval": ("builtins", "eval"),
    "subprocess_popen": ("subprocess", "Popen"),
}


def hostile_arg(call, marker_path):
    if call == "builtins_eval":
        return f"__import__('os').system('touch {marker_path}')"
    return f"touch {marker_path}"


@pytest.mark.parametrize("container", ["zip", "raw"])
@pytest.mark.parametrize("call", list(HOSTILE_CALLS))
def test_disallowed_global_is_inert(call, container, tmp_path, both):
    marker = tmp_path / MARKER
    module, name = HOSTILE_CALLS[call]
    evil = call_ops(module, name, hostile_arg(call, marker))
    if container == "zip":
        pkl = tu.state_dict_pickle([("w", tu.tensor_ops()), ("x", evil)])
        path = tmp_path / f"{call}.pt"
        path.write_bytes(zip_with_pickle(pkl))
        want = ["w"]
    else:
        pkl = P.PROTO2 + P.EMPTY_DICT + P.MARK + P.str("x") + evil + P.str("n") + P.int(1) + P.SETITEMS + P.STOP
        path = tmp_path / f"{call}.pkl"
        path.write_bytes(pkl)
        want = []
    for r in both("ls", path, "--json", cwd=tmp_path):
        assert r.rc == 0, r.describe()
        assert [t["name"] for t in tu.parse_json(r.out)["tensors"]] == want, r.describe()
    for r in both("show", path, cwd=tmp_path):
        assert r.rc in (0, 2), r.describe()
    assert not marker.exists(), "mft executed the pickle's command"


# ---- the reference agrees ------------------------------------------------------------------------

TORCH_CHECK = textwrap.dedent("""
    import json, sys, warnings
    warnings.filterwarnings("ignore")
    import torch
    out = {}
    for path in sys.argv[1:]:
        try:
            obj = torch.load(path, weights_only=True)
            out[path] = ["ok", {k: v.tolist() for k, v in obj.items()} if isinstance(obj, dict) else None]
        except BaseException as e:
            out[path] = ["error", type(e).__name__ + ": " + str(e)[:300]]
    print(json.dumps(out))
""")


def torch_verdicts(paths):
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    proc = subprocess.run([tu.DEBIAN_PYTHON, "-c", TORCH_CHECK, *map(str, paths)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=300, preexec_fn=limit)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]
    return json.loads(proc.stdout)

# Structural cases Debian's torch 1.13 itself loads without complaint: it reads a storage record
# shorter than the element count its persistent id declares (torch >= 2.10 checks that size, and so
# does mft).
TORCH113_ACCEPTS = {"storage_record_shorter_than_pid"}


def test_base_file_is_valid(tmp_path, torch113_fixtures):
    path = tmp_path / "base.pt"
    path.write_bytes(base_zip())
    verdict = torch_verdicts([path])[str(path)]
    assert verdict == ["ok", {"w": [tu.BASE_VALUES[:3], tu.BASE_VALUES[3:]]}], verdict


def test_base_file_reads(tmp_path, run_mft):
    path = tmp_path / "base.pt"
    path.write_bytes(base_zip())
    doc = run_mft("ls", path, "--json", "--hash", check=0).json()
    assert doc["format"] == "pytorch-zip"
    assert [(t["name"], t["dtype"], t["shape"], t["sha256"]) for t in doc["tensors"]] == \
        [("w", "F32", [2, 3], tu.sha256(tu.BASE_STORAGE))]


def test_torch_refuses_the_structural_cases(tmp_path, torch113_fixtures):
    paths = {}
    for case, (build, _) in ZIP_CASES.items():
        p = tmp_path / f"{case}.pt"
        p.write_bytes(build())
        paths[case] = p
    for case in ("bad_opcode", "memo_get_missing", "binget_unset", "binunicode8_2e62", "binbytes8_2e62",
                 "binunicode_4g", "long4_2g", "no_stop"):
        p = tmp_path / f"pickle_{case}.pt"
        p.write_bytes(zip_with_pickle(PICKLE_CASES[case][0]()[0]))
        paths[f"pickle_{case}"] = p
    verdicts = torch_verdicts(paths.values())
    wrong = []
    for case, p in paths.items():
        status = verdicts[str(p)][0]
        expect = "ok" if case in TORCH113_ACCEPTS else "error"
        if status != expect:
            wrong.append(f"{case}: torch 1.13 says {verdicts[str(p)]}, expected {expect}")
    assert not wrong, "\n".join(wrong)
