"""Hostile and benign model files for `mft scan`, one or more per attack class of
shared/reference/pickle-security.md §3 (and the name tricks of §2.1).

Every file is assembled from raw pickle opcodes and zip/tar bytes: nothing here pickles a dangerous
object and nothing is ever unpickled.  The "payload" is an import of a dangerous callable
(`os.system`, `builtins.eval` …) with a harmless-looking argument; the scanner must see it, whatever
the trick.  `cases()` returns Case records (test_scan.py asserts each verdict); run as a script to
write them into a folder:

    python tests/scan_cases.py OUTDIR        # one file per case + cases.json (name → verdict)
"""

import io
import json
import struct
import sys
import tarfile
import zipfile
import zlib
from collections import namedtuple
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from torch_util import P, base_members, state_dict_pickle, tensor_ops, torch_zip  # noqa: E402

# name: unique; section: "§3.1 #3" …; filename: what the file is called (extension tricks);
# verdict: SAFE/SUSPICIOUS/DANGEROUS/ERROR; must: substrings that must appear in some finding's
# global, kind or message (the reason, not just the verdict).
Case = namedtuple("Case", "name section what filename data verdict must")

# ---- opcode helpers -------------------------------------------------------------------------------

STOP = b"."
PROTO2, PROTO4 = b"\x80\x02", b"\x80\x04"


def sbu(s):
    """SHORT_BINUNICODE"""
    b = s.encode("utf-8")
    assert len(b) < 256
    return b"\x8c" + bytes([len(b)]) + b


def glob(module, name):
    """GLOBAL"""
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def stack_global(module, name):
    return sbu(module) + sbu(name) + b"\x93"


def call1(arg_ops):
    """(callable on the stack) + one argument → REDUCE"""
    return arg_ops + b"\x85R"


def frame(body):
    return b"\x95" + struct.pack("<Q", len(body)) + body


def system_call(module="os", name="system", cmd="echo pwned", proto=2):
    """module.name(cmd): the classic payload (protocol 2 GLOBAL or 4 STACK_GLOBAL)."""
    if proto >= 4:
        return stack_global(module, name) + call1(sbu(cmd))
    return glob(module, name) + call1(P.str(cmd))


def pickle_of(ops, proto=2):
    return (PROTO2 if proto < 4 else PROTO4) + ops + STOP


EVIL = pickle_of(system_call())                      # protocol 2, os.system
EVIL4 = pickle_of(system_call("posix", "system", proto=4), proto=4)
BENIGN = pickle_of(b"]" + b"(" + P.int(1) + P.int(2) + b"e")   # [1, 2]
BENIGN_SD = state_dict_pickle([("w", tensor_ops())])            # a torch state_dict


# ---- containers -----------------------------------------------------------------------------------

def zip_of(members, compression=zipfile.ZIP_STORED):
    """A zip from (name, bytes) pairs in order; duplicate names allowed."""
    buf = io.BytesIO()
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(buf, "w", compression=compression) as z:
            for name, data in members:
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = compression
                z.writestr(info, data)
    return buf.getvalue()


def torch_file(pickle_bytes, prefix="archive", extra=()):
    members = base_members(pickle_bytes)
    blob = torch_zip(members, prefix=prefix)
    return blob if not extra else zip_of([(f"{prefix}/{k}", v) for k, v in members.items()] + list(extra))


def headers(blob, name):
    """(local header offset, central directory entry offset) of member `name` (first match)."""
    nb = name.encode()
    central = None
    pos = 0
    while True:
        i = blob.find(b"PK\x01\x02", pos)
        if i < 0:
            break
        nlen = struct.unpack("<H", blob[i + 28:i + 30])[0]
        if blob[i + 46:i + 46 + nlen] == nb:
            central = i
            break
        pos = i + 4
    local = struct.unpack("<I", blob[central + 42:central + 46])[0]
    return local, central


def set_flags(blob, name, flags):
    local, central = headers(blob, name)
    b = bytearray(blob)
    b[local + 6:local + 8] = struct.pack("<H", flags)
    b[central + 8:central + 10] = struct.pack("<H", flags)
    return bytes(b)


def set_method(blob, name, method):
    local, central = headers(blob, name)
    b = bytearray(blob)
    b[local + 8:local + 10] = struct.pack("<H", method)
    b[central + 10:central + 12] = struct.pack("<H", method)
    return bytes(b)


def rename_local(blob, name, new):
    """Change only the local header's copy of the name (same length)."""
    assert len(name) == len(new)
    local, _ = headers(blob, name)
    b = bytearray(blob)
    b[local + 30:local + 30 + len(name)] = new.encode()
    return bytes(b)


def replace_member_bytes(blob, old, new):
    """Edit a stored member's bytes in place (same length): the CRC goes stale."""
    assert len(old) == len(new) and blob.count(old) == 1
    return blob.replace(old, new)


def set_declared_size(blob, name, size):
    """Make the central directory lie about a member's uncompressed size."""
    _, central = headers(blob, name)
    b = bytearray(blob)
    b[central + 24:central + 28] = struct.pack("<I", size)
    return bytes(b)


def npy_object(pickle_bytes):
    header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + pickle_bytes


def legacy_file(obj_ops=None, magic=None, extra_streams=b"", tail=b""):
    """torch ≤ 1.5 stream format: magic, protocol, sys_info, object, key list, storages."""
    magic = magic if magic is not None else PROTO2 + P.int(0x1950A86A20F9469CFC6C) + STOP
    proto = PROTO2 + P.int(1001) + STOP
    sysinfo = (PROTO2 + b"}" + b"(" + P.str("protocol_version") + P.int(1001) +
               P.str("little_endian") + b"\x88" + P.str("type_sizes") + b"}" + b"u" + STOP)
    pid = P.tuple([P.str("storage"), P.glob("torch", "FloatStorage"), P.str("0"), P.str("cpu"),
                   P.int(6), b"N"])
    tensor = (P.glob("torch._utils", "_rebuild_tensor_v2") +
              P.tuple([pid + b"Q", P.int(0), P.tuple([P.int(2), P.int(3)]),
                       P.tuple([P.int(3), P.int(1)]), b"\x89",
                       P.glob("collections", "OrderedDict") + b")R"]) + b"R")
    obj = obj_ops if obj_ops is not None else state_dict_pickle([("w", tensor)])
    keys = PROTO2 + b"]" + P.str("0") + b"a" + STOP
    storage = struct.pack("<q", 6) + struct.pack("<6f", 1, 2, 3, 4, 5, 6)
    return magic + proto + sysinfo + obj + extra_streams + keys + storage + tail


def legacy_tar(pickle_member=None, storage_args=None):
    """torch 0.1.x tar checkpoint: sys_info, pickle, storages, tensors (torch's legacy_load)."""
    sysinfo = PROTO2 + b"}" + P.str("little_endian") + b"\x88s" + STOP
    pickle_member = pickle_member if pickle_member is not None else (
        PROTO2 + b"}" + P.str("w") + b"P0\n" + b"s" + STOP)  # {'w': persistent id '0'}
    args = storage_args if storage_args is not None else (
        PROTO2 + P.tuple([P.str("0"), P.str("cpu"), P.glob("torch", "FloatStorage")]) + STOP)
    storages = (PROTO2 + P.int(1) + STOP + args + struct.pack("<q", 2) + struct.pack("<2f", 1, 2) +
                PROTO2 + b"]" + STOP)
    tensors = (PROTO2 + P.int(1) + STOP +
               PROTO2 + P.tuple([P.str("0"), P.str("0"), P.glob("torch", "FloatTensor")]) + STOP +
               struct.pack("<iI", 1, 0) + struct.pack("<q", 2) + struct.pack("<q", 1) +
               struct.pack("<q", 0))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in [("sys_info", sysinfo), ("pickle", pickle_member),
                           ("storages", storages), ("tensors", tensors)]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def frame_divergence(payload):
    """A protocol 4 pickle whose FRAME ends inside a SHORT_BINUNICODE: a linear reader
    (pickletools, pickle.loads) sees `payload` as the bytes of a BINBYTES, CPython's C unpickler
    reading a file (torch.load) reads the string from the frame's end and runs `payload`
    (checked on CPython 3.11 with a harmless payload)."""
    assert len(payload) < 128
    k = 5
    rest = b"p" * 20 + b"B" + struct.pack("<I", len(payload))
    body = b"\x8c" + bytes([len(rest)]) + b"x" * k
    return PROTO4 + frame(body) + rest + payload + b"0" + STOP


# ---- the cases ------------------------------------------------------------------------------------

def cases():
    c = []

    def add(name, section, what, data, verdict, filename=None, must=()):
        c.append(Case(name, section, what, filename or f"{name}.pkl", data, verdict, tuple(must)))

    # §2.1 name normalisation
    add("py2_builtin_eval", "§2.1", "protocol 0 __builtin__.eval (mapped to builtins)",
        glob("__builtin__", "eval") + b"(S'1+1'\ntR.", "DANGEROUS", must=["builtins.eval"])
    add("py2_commands", "§2.1", "protocol 2 commands.getoutput (Python 2 name of subprocess)",
        pickle_of(glob("commands", "getoutput") + call1(P.str("id"))), "DANGEROUS",
        must=["subprocess.getoutput"])
    add("nt_system", "§2.1", "nt.system (os on Windows)", pickle_of(system_call("nt", "system")),
        "DANGEROUS", must=["os.system"])
    add("operator_impl", "§2.1", "_operator.attrgetter (implementation module)",
        pickle_of(glob("_operator", "attrgetter") + call1(P.str("system"))), "DANGEROUS",
        must=["operator.attrgetter"])
    add("io_impl", "§2.1", "_io.FileIO", pickle_of(glob("_io", "FileIO") + call1(P.str("/etc/passwd"))),
        "DANGEROUS", must=["io.FileIO"])
    add("dotted_pathlib_os", "§2.1", "pathlib + os.system: a dotted name walks attributes",
        pickle_of(stack_global("pathlib", "os.system") + call1(sbu("id")), proto=4), "DANGEROUS",
        must=["pathlib.os.system"])
    add("dotted_subclasses", "§2.1", "builtins + print.__class__.__base__.__subclasses__",
        pickle_of(stack_global("builtins", "print.__class__.__base__.__subclasses__") + b")R",
                  proto=4), "DANGEROUS")
    add("submodule", "§2.1", "a submodule of a denylisted module (asyncio.unix_events)",
        pickle_of(stack_global("asyncio.unix_events", "_UnixSubprocessTransport") + b")R", proto=4),
        "DANGEROUS", must=["asyncio.unix_events"])
    add("collections_sys", "§2.1", "collections._sys.modules (a module alias reached by a dotted name)",
        pickle_of(stack_global("collections", "_sys.modules"), proto=4), "DANGEROUS")

    # §3.1 container and format tricks
    add("sevenzip", "§3.1 #1", "7-Zip archive (not unpacked)",
        b"7z\xbc\xaf\x27\x1c\x00\x04" + b"\x00" * 24 + EVIL, "SUSPICIOUS", "model.7z", ["7-Zip"])
    add("broken_after_payload", "§3.1 #2", "REDUCE os.system, then a truncated BINUNICODE",
        PROTO2 + system_call() + b"X\xff\xff\xff\x7fabc", "DANGEROUS", must=["os.system"])
    add("broken_zip_member", "§3.1 #2", "torch zip whose data.pkl breaks after the payload",
        torch_file(PROTO2 + system_call() + b"\x00garbage"), "DANGEROUS", "model.pt", ["os.system"])
    evil_zip = torch_file(EVIL)
    add("crc_mismatch", "§3.1 #3", "payload edited after zipping: stale CRC-32",
        replace_member_bytes(torch_file(pickle_of(system_call(cmd="echo AAAA"))), b"echo AAAA",
                             b"echo BBBB"), "DANGEROUS", "model.pt", ["os.system", "CRC"])
    add("crc_mismatch_benign", "§3.1 #3", "benign data.pkl with a stale CRC-32",
        replace_member_bytes(torch_file(state_dict_pickle([("abcd", tensor_ops())])), b"abcd",
                             b"wxyz"), "SUSPICIOUS", "model.pt", ["CRC"])
    for flag in (0x1, 0x20, 0x40):
        add(f"flag_{flag:#x}", "§3.1 #4", f"general-purpose flag {flag:#x} on a plain data.pkl",
            set_flags(evil_zip, "archive/data.pkl", flag), "DANGEROUS", "model.pt",
            ["os.system", "flags"])
    add("flag_benign", "§3.1 #4", "encrypted flag on a benign torch file",
        set_flags(torch_file(BENIGN_SD), "archive/data.pkl", 0x1), "SUSPICIOUS", "model.pt", ["flags"])
    add("local_name_mismatch", "§3.1 #5", "local header says datap.kl, central directory data.pkl",
        rename_local(evil_zip, "archive/data.pkl", "archive/datap.kl"), "DANGEROUS", "model.pt",
        ["os.system", "local header"])
    add("pickle_as_txt", "§3.1 #6", "protocol 0 pickle in a member named data.txt",
        zip_of([("model/data.txt", glob("posix", "system") + b"(S'id'\ntR.")]), "DANGEROUS",
        "model.zip", ["posix.system"])
    add("pickle_extensionless", "§3.1 #6", "protocol 2 pickle in an extensionless member",
        zip_of([("weights", EVIL)]), "DANGEROUS", "model.zip", ["os.system"])
    add("raw_pickle_as_bin", "§3.1 #7", "a plain pickle named pytorch_model.bin", EVIL, "DANGEROUS",
        "pytorch_model.bin", ["os.system"])
    add("magic_by_eval", "§3.1 #8", "legacy layout whose magic number is eval(...)",
        legacy_file(magic=PROTO2 + glob("builtins", "eval") + call1(P.str("0x1950A86A20F9469CFC6C")) +
                    STOP), "DANGEROUS", "model.pt", ["builtins.eval"])
    add("legacy_benign", "§3.1 #9", "legacy format: five pickles then storages", legacy_file(),
        "SAFE", "model.pt")
    add("legacy_payload_4th", "§3.1 #9", "legacy format with the payload in the object pickle",
        legacy_file(obj_ops=EVIL), "DANGEROUS", "model.pt", ["os.system"])
    add("legacy_payload_after_storages", "§3.1 #9", "legacy format with a pickle after the storages",
        legacy_file(tail=EVIL), "DANGEROUS", "model.pt", ["os.system"])
    add("legacy_tar", "§3.1 #10", "torch 0.1.x tar checkpoint (benign)", legacy_tar(), "SUSPICIOUS",
        "model.tar", ["legacy tar"])
    add("legacy_tar_payload", "§3.1 #10", "tar checkpoint with os.system in its pickle member",
        legacy_tar(pickle_member=EVIL), "DANGEROUS", "model.tar", ["os.system"])
    add("legacy_tar_storage_payload", "§3.1 #10", "tar checkpoint with a payload in a storage record",
        legacy_tar(storage_args=EVIL4), "DANGEROUS", "model.tar", ["posix.system"])
    add("torchscript", "§3.1 #11", "zip with constants.pkl and code/ (TorchScript)",
        torch_zip({**base_members(), "constants.pkl": PROTO2 + b")" + STOP,
                   "code/__torch__.py": b"class M(Module):\n  pass\n"}), "SUSPICIOUS", "model.pt",
        ["TorchScript"])
    add("duplicate_names", "§3.1 #12", "two archive/data.pkl: benign first, payload second",
        zip_of([("archive/data.pkl", BENIGN_SD), ("archive/data/0", b"\0" * 24),
                ("archive/data.pkl", EVIL)]), "DANGEROUS", "model.pt", ["os.system", "duplicate"])
    add("duplicate_names_benign", "§3.1 #12", "the same benign data.pkl twice",
        zip_of([("archive/data.pkl", BENIGN_SD), ("archive/data/0", b"\0" * 24),
                ("archive/data.pkl", BENIGN_SD)]), "SUSPICIOUS", "model.pt", ["duplicate"])
    add("corrupt_entry_first", "§3.1 #13", "an unreadable member (bzip2) before the payload",
        set_method(zip_of([("archive/aaa", b"x" * 10), ("archive/data.pkl", EVIL)]), "archive/aaa", 12),
        "DANGEROUS", "model.pt", ["os.system", "bzip2"])
    add("nested_zip", "§3.1 #14", "a torch file inside a zip", zip_of([("inner/model.pt", evil_zip)]),
        "DANGEROUS", "bundle.zip", ["os.system"])
    add("nested_zip_deflated", "§3.1 #14", "a deflated zip in a deflated zip",
        zip_of([("x.zip", zip_of([("data.pkl", EVIL4)], zipfile.ZIP_DEFLATED))], zipfile.ZIP_DEFLATED),
        "DANGEROUS", "bundle.zip", ["posix.system"])
    add("polyglot_pickle_zip", "§3.1 #15", "benign pickle with a malicious zip appended",
        BENIGN + evil_zip, "DANGEROUS", "model.pkl", ["os.system", "polyglot"])
    add("polyglot_evil_pickle_benign_zip", "§3.1 #15", "malicious pickle with a benign zip appended",
        EVIL + torch_file(BENIGN_SD), "DANGEROUS", "model.pt", ["os.system"])
    add("path_traversal", "§3.1 #16", "member names ../../etc/evil.txt and /abs",
        zip_of([("../../etc/evil.txt", b"hello"), ("/abs/x", b"x"), ("model/ok.txt", b"ok")]),
        "SUSPICIOUS", "model.zip", ["traversal"])
    bomb = zip_of([("archive/data.pkl", BENIGN_SD), ("archive/big", b"\0" * 4096)],
                  zipfile.ZIP_DEFLATED)
    add("size_lie", "§3.1 #17", "a member declaring 4 GiB once inflated (bomb header)",
        set_declared_size(bomb, "archive/big", 0xFFFFFFF0), "SUSPICIOUS", "model.pt")
    add("overlapping_members", "§3.1 #17", "two central entries on the same bytes (non-recursive bomb)",
        _overlap(zip_of([("data.pkl", EVIL), ("b.bin", b"y" * 8)])), "DANGEROUS", "model.zip",
        ["os.system", "central directory"])
    huge = state_dict_pickle([("w", tensor_ops(size=(1 << 40, 1 << 40), stride=(1, 1)))])
    add("lying_tensor_metadata", "§3.1 #18",
        "a tensor whose sizes reach past its storage: no code, SAFE for scan (mft ls refuses it)",
        torch_file(huge), "SAFE", "model.pt")

    # §3.2 gadgets: callables that are not on a typical denylist
    gadgets = [("pip", "main"), ("runpy", "_run_code"), ("uuid", "_get_command_stdout"),
               ("_osx_support", "_read_output"), ("pkgutil", "resolve_name"),
               ("importlib", "import_module"), ("inspect", "getattr_static"), ("pydoc", "locate"),
               ("torch.utils.collect_env", "run"), ("torch.fx.graph_module", "reduce_graph_module"),
               ("numpy.testing._private.utils", "runstring"), ("timeit", "timeit"),
               ("code", "InteractiveInterpreter"), ("ssl", "get_server_certificate"),
               ("smtplib", "SMTP"), ("logging.config", "fileConfig"), ("shutil", "rmtree"),
               ("marshal", "loads"), ("zlib", "decompress"), ("joblib", "load"),
               ("torch", "load"), ("torch.hub", "load"), ("functools", "partial"),
               ("cloudpickle.cloudpickle", "_make_function"), ("_pickle", "loads"),
               ("venv", "create"), ("webbrowser", "open"), ("ctypes", "CDLL"),
               ("sys", "exit"), ("builtins", "getattr"), ("builtins", "type"),
               ("fickling", "load")]
    for mod, name in gadgets:
        add(f"gadget_{mod.replace('.', '_')}_{name}", "§3.2", f"{mod}.{name}",
            pickle_of(system_call(mod, name, cmd="x", proto=4), proto=4), "DANGEROUS",
            must=[f"{mod}.{name}"])
    add("unknown_class", "§3.2", "an unknown class (__main__.Net): SUSPICIOUS, never SAFE",
        pickle_of(glob("__main__", "Net") + b")\x81}b"), "SUSPICIOUS", must=["__main__.Net"])
    add("sleepy_pickle_setattr", "§3.2", "Sleepy Pickle: BUILD sets attributes on a module's class",
        pickle_of(glob("torch.nn.modules.linear", "Linear") + b"N}" + P.str("forward") +
                  glob("__main__", "hook") + b"s\x86b"), "DANGEROUS", must=["BUILD"])
    nested_load = zip_of([("archive/data.pkl", EVIL)])
    add("load_from_bytes_nested", "§3.2",
        "torch.storage._load_from_bytes on bytes that are a malicious torch file",
        pickle_of(glob("torch.storage", "_load_from_bytes") +
                  call1(b"B" + struct.pack("<I", len(nested_load)) + nested_load)),
        "DANGEROUS", must=["os.system"])
    add("load_from_bytes_benign", "§3.2", "torch.storage._load_from_bytes on a benign torch file",
        pickle_of(glob("torch.storage", "_load_from_bytes") +
                  call1(b"B" + struct.pack("<I", len(torch_file(BENIGN_SD))) + torch_file(BENIGN_SD))),
        "SUSPICIOUS", must=["torch.storage._load_from_bytes"])
    add("rebuild_from_type_computed", "§3.2",
        "_rebuild_from_type_v2 given a func that is a call result (it calls it)",
        pickle_of(glob("torch._tensor", "_rebuild_from_type_v2") + b"(" +
                  glob("builtins", "str") + b")R" + glob("torch", "Tensor") + b")}tR"),
        "DANGEROUS", must=["which calls it"])

    # §3.3 parser-divergence tricks
    add("stack_global_from_reduce", "§3.3 #19", "STACK_GLOBAL whose module is a call result",
        pickle_of(glob("builtins", "str") + call1(sbu("os")) + sbu("system") + b"\x93" +
                  call1(sbu("id")), proto=4), "DANGEROUS", must=["unresolved-import"])
    add("stack_global_from_dup", "§3.3 #19", "STACK_GLOBAL on a DUP of a global object",
        pickle_of(glob("builtins", "str") + b"2\x93" + b")R", proto=4), "DANGEROUS",
        must=["unresolved-import"])
    add("memo_desync", "§3.3 #20", "MEMOIZE right after GETs: scanners that store the previous "
        "opcode's argument lose the names",
        PROTO4 + sbu("posix") + b"\x94" + sbu("system") + b"\x94" + b"h\x00\x94h\x01\x94\x93\x94" +
        call1(sbu("id")) + STOP, "DANGEROUS", must=["posix.system"])
    add("memo_overwrite", "§3.3 #21", "memo slot overwritten between GET and STACK_GLOBAL",
        PROTO4 + sbu("os") + b"q\x00" + b"0" + b"h\x00" + sbu("system") + b"q\x00" + b"\x93" +
        call1(sbu("id")) + STOP, "DANGEROUS", must=["os.system"])
    add("memo_decoy", "§3.3 #21", "decoy torch names in the stream, real names from the memo",
        PROTO4 + sbu("os") + b"q\x01" + sbu("system") + b"q\x02" + b"0" + b"0" + sbu("torch") +
        sbu("LongStorage") + b"0" + b"0" + b"h\x01h\x02\x93" + call1(sbu("id")) + STOP,
        "DANGEROUS", must=["os.system"])
    add("type_confusion", "§3.3 #22", "STACK_GLOBAL on bytes (CPython refuses), then a second pickle",
        PROTO4 + b"C\x02os" + sbu("system") + b"\x93" + STOP + EVIL, "DANGEROUS",
        must=["os.system", "not two str"])
    add("type_confusion_alone", "§3.3 #22", "STACK_GLOBAL on an int (CPython refuses): malformed",
        PROTO4 + b"K*" + sbu("system") + b"\x93" + STOP, "SUSPICIOUS", must=["not two str"])
    add("hex_int", "§3.3 #23", "I0x10 (valid in CPython, not in pickletools) before the payload",
        b"I0x10\n0" + glob("os", "system") + b"(S'id'\ntR.", "DANGEROUS", must=["os.system"])
    add("hex_long", "§3.3 #23", "L0x10L before the payload",
        b"L0x10L\n0" + glob("os", "system") + b"(S'id'\ntR.", "DANGEROUS", must=["os.system"])
    add("underscore_int", "§3.3 #23", "I1_0 and a leading-zero octal I010 before the payload",
        b"I1_0\n0I010\n0" + glob("os", "system") + b"(S'id'\ntR.", "DANGEROUS", must=["os.system"])
    add("frame_divergence", "§3.3 #24", "FRAME ends inside a string: the payload only runs when "
        "read from a file", frame_divergence(stack_global("posix", "system") + call1(sbu("id"))),
        "DANGEROUS", must=["posix.system", "FRAME"])
    add("frame_in_frame", "§3.3 #24", "a FRAME opened inside another",
        PROTO4 + frame(b"]" + frame(b"K\x01a")) + STOP, "DANGEROUS", must=["FRAME"])
    add("frame_short", "§3.3 #24", "a FRAME longer than the data (pickle.py runs it)",
        PROTO4 + b"\x95" + struct.pack("<Q", 200) + stack_global("nt", "system") + b"\x94.",
        "DANGEROUS", must=["nt.system"])
    add("second_proto", "§3.3 #25", "PROTO 2 then PROTO 4 half-way (benign content)",
        PROTO2 + b"]" + PROTO4 + b"(" + P.int(1) + b"e" + STOP, "SUSPICIOUS", must=["PROTO"])
    add("proto_switch_dotted", "§3.3 #25", "PROTO 4 switched on mid-stream for a dotted name",
        PROTO2 + b"N0" + PROTO4 + stack_global("pathlib", "os.system") + call1(sbu("id")) + STOP,
        "DANGEROUS", must=["pathlib.os.system"])
    add("prepended_payload", "§3.3 #26", "eval payload glued in front of a valid state_dict",
        glob("builtins", "eval") + b"(S'1'\ntR0" + BENIGN_SD, "DANGEROUS", must=["builtins.eval"])
    add("multi_stream", "§3.3 #27", "benign pickle, a junk byte, a malicious pickle",
        BENIGN + b"\x00" + EVIL, "DANGEROUS", must=["os.system"])
    add("trailing_junk", "§3.3 #27", "benign pickle followed by junk", BENIGN + b"\xde\xad\xbe\xef" * 4,
        "SUSPICIOUS", must=["trailing"])
    add("mark_leftover", "§3.3 #28", "an unclosed MARK and an extra value at STOP",
        b"(K\x01K\x02.", "SUSPICIOUS", must=["non-canonical"])
    add("pop_mark", "§3.3 #28", "POP right after MARK pops the mark (CPython), then the payload",
        b"(0" + glob("os", "system") + b"(S'id'\ntR.", "DANGEROUS", must=["os.system"])
    add("ext_code", "§3.3 #29", "an import by EXT1 code", PROTO2 + b"\x82\x05" + b")R" + STOP,
        "SUSPICIOUS", must=["extension code"])
    add("persid_unexpected", "§3.3 #30", "a torch zip whose persistent id is not a storage tuple",
        torch_file(PROTO2 + b"}" + P.str("w") + P.tuple([P.str("evil"), P.str("x")]) + b"Qs" + STOP),
        "SUSPICIOUS", "model.pt", ["persistent id"])
    add("build_on_global", "§3.3 #31", "BUILD on a global (numpy.prod.a = 'os') then a dotted read",
        pickle_of(stack_global("numpy", "prod") + b"N}" + sbu("a") + sbu("os") + b"s\x86b0" +
                  stack_global("numpy", "prod.a"), proto=4), "DANGEROUS", must=["BUILD"])
    add("setitem_on_global", "§3.3 #32", "SETITEM on a class object (calls its __setitem__)",
        pickle_of(glob("collections", "OrderedDict") + P.str("k") + P.str("v") + b"s"), "DANGEROUS",
        must=["container operation"])
    add("setitem_on_list", "§3.3 #32", "SETITEM on a list (CPython calls list.__setitem__)",
        pickle_of(b"]" + P.int(0) + b"a" + P.int(0) + P.int(5) + b"s"), "SUSPICIOUS",
        must=["container operation"])

    # §3.4 resource exhaustion and crash inputs
    add("huge_binunicode8", "§3.4 #33", "BINUNICODE8 claiming 2^62 bytes (nothing allocated)",
        PROTO4 + b"\x8d" + struct.pack("<Q", 1 << 62) + b"abc" + STOP, "ERROR")
    add("huge_length_after_payload", "§3.4 #33", "payload, then BINBYTES claiming 4 GiB",
        PROTO2 + system_call() + b"B\xff\xff\xff\xff" + STOP, "DANGEROUS", must=["os.system"])
    add("huge_memo_index", "§3.4 #34", "LONG_BINPUT 0x7fffffff (a hash map, not an array)",
        PROTO2 + P.int(1) + b"r\xff\xff\xff\x7f" + STOP, "SAFE")
    laughs = PROTO2 + b"]" + b"q\x00"
    for i in range(1, 12):  # each level: a list of 10 references to the previous one
        laughs += b"0(" + (b"h" + bytes([i - 1])) * 10 + b"l" + b"q" + bytes([i])
    add("billion_laughs", "§3.4 #35", "memo references expanding to 10^11 elements",
        laughs + STOP, "SAFE")
    add("dup_laughs", "§3.4 #35", "DUP-built expansion of a global",
        PROTO2 + glob("collections", "OrderedDict") + b"22\x87" * 40 + STOP, "SAFE")
    padding = b"](" + b"K\x01" * 2200000 + b"e0"  # more values than a scan builds (2^21)
    add("limit_then_global", "§3.4 #35", "2.2 million values, then os.system: past the scan's "
        "value budget the rest is walked opcode by opcode", PROTO2 + padding + system_call() + STOP,
        "DANGEROUS", must=["os.system", "scan limit"])
    add("limit_then_memo_stack_global", "§3.4 #35", "the same with STACK_GLOBAL fed from the memo",
        PROTO4 + padding + sbu("posix") + b"\x94" + sbu("system") + b"\x94" + b"h\x00h\x01\x93" +
        call1(sbu("id")) + STOP, "DANGEROUS", must=["posix.system"])
    add("limit_then_computed_stack_global", "§3.4 #35", "past the budget, a STACK_GLOBAL on a "
        "computed operand", PROTO4 + padding + glob("builtins", "str") + call1(sbu("os")) +
        sbu("system") + b"\x93" + STOP, "DANGEROUS", must=["cannot be resolved"])
    add("deep_nesting", "§3.4 #36", "100000 nested lists", PROTO2 + b"(" * 100000 + b"l" * 100000 +
        STOP, "SAFE")
    add("self_reference", "§3.4 #36", "a list appended to itself through the memo",
        PROTO2 + b"]q\x00h\x00a" + STOP, "SAFE")
    add("truncated_no_payload", "§3.4 #37", "a protocol 2 pickle cut short, nothing imported",
        PROTO2 + b"}q\x00(X\x05\x00\x00\x00abc", "ERROR")
    add("empty_data_pkl", "§3.4 #37", "a torch zip whose data.pkl is empty",
        torch_zip({"data.pkl": b"", "version": b"3\n"}), "SUSPICIOUS", "model.pt", ["empty"])
    add("invalid_utf8_global", "§3.4 #38", "GLOBAL with invalid UTF-8 (CPython fails to decode)",
        b"cmod\n\xf8\n", "ERROR")
    add("cr_before_lf", "§3.4 #38", "module name 'collections\\r' cannot be imported",
        PROTO2 + b"ccollections\r\nOrderedDict\n)R" + STOP, "SUSPICIOUS", must=["importable"])
    add("surrogate_then_payload", "§3.4 #38", "a surrogate in BINUNICODE (surrogatepass) before the payload",
        PROTO2 + b"X\x03\x00\x00\x00\xed\xa0\x800" + system_call() + STOP, "DANGEROUS",
        must=["os.system"])

    # numpy
    add("npy_object_payload", "npy", ".npy object array whose pickle calls os.system",
        npy_object(pickle_of(system_call(proto=4), proto=4)), "DANGEROUS", "x.npy", ["os.system"])
    add("npz_object_payload", "npy", ".npz whose member is a malicious object array",
        zip_of([("a.npy", npy_object(EVIL))], zipfile.ZIP_DEFLATED), "DANGEROUS", "x.npz",
        ["os.system"])
    add("embedded_pickle", "§3.2", "a bytes value holding a malicious pickle (dormant payload)",
        PROTO2 + b"}" + P.str("blob") + b"B" + struct.pack("<I", len(EVIL)) + EVIL + b"s" + STOP,
        "DANGEROUS", must=["embedded"])
    return c


def _overlap(blob):
    """Point the second central directory entry at the first member's local header."""
    i = blob.find(b"PK\x01\x02")
    j = blob.find(b"PK\x01\x02", i + 4)
    first = blob[i + 42:i + 46]
    b = bytearray(blob)
    b[j + 42:j + 46] = first
    return bytes(b)


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    index = {}
    for case in cases():
        name = f"{case.name}__{case.filename}"
        (out / name).write_bytes(case.data)
        index[name] = {"verdict": case.verdict, "section": case.section, "what": case.what}
    (out / "cases.json").write_text(json.dumps(index, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
