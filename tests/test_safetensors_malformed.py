"""Malformed safetensors files: one named case per validation rule, each crafted byte by byte.

Every case must give exit status 2, nothing on stdout, and a one-line diagnosis on stderr that starts
with `mft: <path>` and contains the case's distinctive phrase (case-insensitive regex).  `convert` of a
malformed input must leave the target directory as it was (no output, no temporary file).

A few edge cases the reference reader accepts are checked too, so the validation is not over-eager.
"""

import os
import re
import struct

import pytest

import st_util as su

E = su.entry
F32x2 = E("F32", [2], 0, 8)
D8 = bytes(range(8))


def raw(text, data=b"", *, pad=True, length=None):
    """A file whose header is the given text/bytes verbatim (for what json.dumps cannot produce)."""
    return su.craft(text if isinstance(text, bytes) else text.encode("utf-8"), data, pad=pad, length=length)


def valid_file():
    return su.serialize_ref({"w": su.make_tensor("F32", (4, 4), 1), "b": su.make_tensor("I64", (3,), 2)},
                            {"format": "pt"})


def truncated(cut):
    blob = valid_file()
    return blob[:-cut]


BAD_UTF8_NAME = b'{"a\xff":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'

# id -> (file bytes, regex expected in the message)
CASES = {
    # --- file size and header length -----------------------------------------------------------
    "empty_file": (b"", r"empty"),
    "shorter_than_8_bytes": (b"\x08\x00\x00", r"too short"),
    "header_length_over_limit": (struct.pack("<Q", su.MAX_HEADER + 1) + b"{}      ", r"exceeds"),
    "header_length_u64_max": (struct.pack("<Q", 2 ** 64 - 1) + b"{}      ", r"exceeds"),
    "header_length_past_eof": (su.craft({"a": F32x2}, D8, length=4096), r"past end of file"),
    "header_length_at_limit_past_eof": (struct.pack("<Q", su.MAX_HEADER) + b"{}      ", r"past end of file"),
    # --- UTF-8 -----------------------------------------------------------------------------------
    "header_invalid_utf8": (raw(BAD_UTF8_NAME, D8), r"UTF-8"),
    "header_utf8_overlong": (raw(BAD_UTF8_NAME.replace(b"\xff", b"\xc0\xaf"), D8), r"UTF-8"),
    "header_utf8_surrogate": (raw(BAD_UTF8_NAME.replace(b"\xff", b"\xed\xa0\x80"), D8), r"UTF-8"),
    "header_utf8_cut_sequence": (raw(BAD_UTF8_NAME.replace(b"\xff", b"\xe2\x82"), D8), r"UTF-8"),
    "header_utf8_above_u10ffff": (raw(BAD_UTF8_NAME.replace(b"\xff", b"\xf4\x90\x80\x80"), D8), r"UTF-8"),
    # --- JSON syntax -----------------------------------------------------------------------------
    "json_syntax_error": (raw('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}', D8), r"JSON"),
    "json_empty_header": (struct.pack("<Q", 0), r"JSON|empty"),
    "json_trailing_garbage": (raw("{} x"), r"JSON|trailing"),
    "json_nul_padding": (raw(b"{}\0\0\0\0\0\0", pad=False), r"JSON|trailing"),
    "json_single_quotes": (raw("{'a': {}}"), r"JSON"),
    "json_bad_escape": (raw('{"a\\x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', D8), r"JSON"),
    "json_lone_surrogate_escape": (raw('{"\\ud800":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', D8),
                                   r"JSON|UTF-8|surrogate"),
    "json_raw_control_char": (raw('{"a\x01":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', D8),
                              r"JSON|control"),
    # --- structure -------------------------------------------------------------------------------
    "header_is_array": (raw("[]"), r"object"),
    "header_is_string": (raw('"abc"'), r"object"),
    "tensor_entry_not_object": (su.craft({"a": [0, 8]}, D8), r"object"),
    "unknown_dtype": (su.craft({"a": E("F128", [1], 0, 16)}, bytes(16)), r"unknown dtype"),
    "unknown_dtype_lowercase": (su.craft({"a": E("f32", [2], 0, 8)}, D8), r"unknown dtype"),
    "dtype_not_string": (su.craft({"a": {"dtype": 7, "shape": [2], "data_offsets": [0, 8]}}, D8), r"dtype"),
    "missing_dtype": (su.craft({"a": {"shape": [2], "data_offsets": [0, 8]}}, D8), r"dtype"),
    "missing_shape": (su.craft({"a": {"dtype": "F32", "data_offsets": [0, 8]}}, D8), r"shape"),
    "missing_data_offsets": (su.craft({"a": {"dtype": "F32", "shape": [2]}}, D8), r"data_offsets"),
    "shape_not_array": (su.craft({"a": {"dtype": "F32", "shape": 2, "data_offsets": [0, 8]}}, D8), r"shape"),
    "data_offsets_not_array": (su.craft({"a": {"dtype": "F32", "shape": [2], "data_offsets": "0-8"}}, D8),
                               r"data_offsets"),
    "data_offsets_one_number": (su.craft({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0]}}, D8),
                                r"data_offsets"),
    "data_offsets_three_numbers": (su.craft({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8, 8]}}, D8),
                                   r"data_offsets"),
    "data_offsets_end_before_begin": (su.craft({"a": E("U8", [4], 0, 4), "b": E("U8", [2], 4, 2)}, bytes(6)),
                                      r"data_offsets"),
    # --- numbers ---------------------------------------------------------------------------------
    "shape_negative": (su.craft({"a": E("F32", [-2], 0, 8)}, D8), r"shape|negative|integer"),
    "shape_float": (raw('{"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}', D8), r"shape|integer"),
    "data_offsets_negative": (su.craft({"a": E("F32", [2], -8, 0)}, D8), r"data_offsets|negative|integer"),
    "data_offsets_float": (raw('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8.0]}}', D8),
                           r"data_offsets|integer"),
    "data_offsets_exponent": (raw('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8e0]}}', D8),
                              r"data_offsets|integer"),
    "data_offsets_beyond_u64": (raw('{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,18446744073709551616]}}', D8),
                                r"data_offsets|integer|overflow|range|large"),
    # --- layout ----------------------------------------------------------------------------------
    "overlap": (su.craft({"a": E("U8", [8], 0, 8), "b": E("U8", [8], 4, 12)}, bytes(12)), r"overlap"),
    "overlap_same_bytes": (su.craft({"a": E("U8", [4], 0, 4), "b": E("U8", [4], 0, 4)}, bytes(4)), r"overlap"),
    "gap_between_tensors": (su.craft({"a": E("U8", [4], 0, 4), "b": E("U8", [4], 8, 12)}, bytes(12)), r"gap"),
    "gap_at_start": (su.craft({"a": E("U8", [4], 4, 8)}, bytes(8)), r"gap"),
    "trailing_bytes": (su.craft({"a": E("U8", [4], 0, 4)}, bytes(6)), r"trailing"),
    "trailing_bytes_no_tensors": (su.craft({}, b"xyz"), r"trailing"),
    "shape_product_overflow": (su.craft({"a": E("U8", [2 ** 32, 2 ** 32, 2], 0, 0)}), r"overflow"),
    "byte_size_overflow": (su.craft({"a": E("F32", [2 ** 62], 0, 0)}), r"overflow"),
    "size_mismatch_smaller": (su.craft({"a": E("F32", [2], 0, 4)}, bytes(4)), r"does not match"),
    "size_mismatch_larger": (su.craft({"a": E("F32", [2], 0, 12)}, bytes(12)), r"does not match"),
    "truncated_in_data": (truncated(5), r"truncated|past end of file"),
    "truncated_all_data": (su.craft({"a": E("F32", [4], 0, 16)}), r"truncated|past end of file"),
    "f4_odd_element_count": (su.craft({"a": E("F4", [3], 0, 2)}, bytes(2)), r"whole number of bytes"),
    "f4_odd_element_count_2d": (su.craft({"a": E("F4", [3, 3], 0, 5)}, bytes(5)), r"whole number of bytes"),
    # --- duplicates and metadata -----------------------------------------------------------------
    "duplicate_tensor_identical": (raw('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
                                       '"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', D8), r"duplicate"),
    "duplicate_tensor_different": (raw('{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},'
                                       '"a":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}', D8), r"duplicate"),
    "duplicate_tensor_escaped": (raw('{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},'
                                     '"\\u0061":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}', D8), r"duplicate"),
    "duplicate_metadata": (raw('{"__metadata__":{"format":"pt"},"__metadata__":{"format":"pt"},'
                               '"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', D8), r"duplicate"),
    "duplicate_metadata_key": (raw('{"__metadata__":{"format":"pt","format":"tf"},'
                                   '"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', D8), r"duplicate"),
    "metadata_value_number": (su.craft({"__metadata__": {"epoch": 3}, "a": F32x2}, D8), r"__metadata__"),
    "metadata_value_null": (su.craft({"__metadata__": {"x": None}, "a": F32x2}, D8), r"__metadata__"),
    "metadata_value_object": (su.craft({"__metadata__": {"x": {"y": "z"}}, "a": F32x2}, D8), r"__metadata__"),
    "metadata_value_list": (su.craft({"__metadata__": {"x": ["y"]}, "a": F32x2}, D8), r"__metadata__"),
    "metadata_not_object": (su.craft({"__metadata__": "pt", "a": F32x2}, D8), r"__metadata__"),
    "metadata_is_tensor_entry": (su.craft({"__metadata__": E("F32", [2], 0, 8)}, D8), r"__metadata__"),
}


def check_error(res, path, pattern):
    assert res.rc == 2, res.describe()
    assert res.out == "", f"nothing may be printed on stdout:\n{res.describe()}"
    assert res.err.startswith(f"mft: {path}"), f"stderr must start with 'mft: {path}':\n{res.describe()}"
    assert re.search(pattern, res.err, re.IGNORECASE), f"stderr should match /{pattern}/i:\n{res.describe()}"


@pytest.fixture
def bad_file(request, tmp_path):
    blob, pattern = CASES[request.param]
    path = tmp_path / f"{request.param}.safetensors"
    path.write_bytes(blob)
    return path, pattern


def test_reference_rejects_what_it_checks():
    """Sanity of the crafted cases: the reference reader refuses every one of them, except the duplicate
    keys that serde_json silently lets overwrite each other (mft is stricter there)."""
    import safetensors

    accepted_by_reference = {"duplicate_tensor_identical", "duplicate_metadata_key"}
    for case, (blob, _) in CASES.items():
        try:
            safetensors.deserialize(blob)
        except Exception:
            assert case not in accepted_by_reference, f"reference now rejects {case}"
        else:
            assert case in accepted_by_reference, f"reference accepts {case}: the crafted file is not malformed"


def test_reference_accepts_edge_cases():
    import safetensors

    for case, (blob, listing) in ACCEPTED.items():
        got = dict(safetensors.deserialize(blob))
        assert sorted(got) == sorted(n for n, _ in listing), case


@pytest.mark.parametrize("bad_file", list(CASES), indirect=True)
@pytest.mark.parametrize("cmd", ["ls", "info"])
def test_malformed_read(cmd, bad_file, run_mft):
    path, pattern = bad_file
    check_error(run_mft(cmd, path, "--json"), path, pattern)


@pytest.mark.parametrize("bad_file", list(CASES), indirect=True)
def test_malformed_convert_leaves_nothing(bad_file, tmp_path, run_mft):
    path, pattern = bad_file
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    res = run_mft("convert", path, out_dir / "out.safetensors")
    check_error(res, path, pattern)
    assert os.listdir(out_dir) == [], "convert of a malformed input left files behind"


@pytest.mark.parametrize("bad_file", ["truncated_in_data", "overlap", "duplicate_tensor_identical"],
                         indirect=True)
def test_malformed_convert_force_keeps_existing_output(bad_file, tmp_path, run_mft):
    path, pattern = bad_file
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / "out.safetensors").write_bytes(b"old contents")
    res = run_mft("convert", path, out_dir / "out.safetensors", "--force")
    check_error(res, path, pattern)
    assert os.listdir(out_dir) == ["out.safetensors"]
    assert (out_dir / "out.safetensors").read_bytes() == b"old contents"


@pytest.mark.parametrize("bad_file", ["truncated_in_data", "gap_between_tensors", "unknown_dtype"],
                         indirect=True)
def test_malformed_sharded_convert_leaves_nothing(bad_file, tmp_path, run_mft):
    path, pattern = bad_file
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    res = run_mft("convert", path, out_dir / "model.safetensors", "--shard-size", "8")
    check_error(res, path, pattern)
    assert os.listdir(out_dir) == []


# --- what must be accepted -------------------------------------------------------------------------

A = su.make_tensor("F32", (2,), 1)
B = su.make_tensor("U8", (3,), 2)
Z = su.make_tensor("I16", (0, 2), 3)
AB_JSON = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}}'
AB_DATA = A.data + B.data

# id -> (file bytes, [(name, Tensor)] in expected listing order)
ACCEPTED = {
    "leading_whitespace": (raw(" \t\r\n" + AB_JSON, AB_DATA), [("a", A), ("b", B)]),
    "trailing_mixed_whitespace": (raw(AB_JSON + "\t\r\n  ", AB_DATA), [("a", A), ("b", B)]),
    "no_header_padding": (raw(AB_JSON, AB_DATA, pad=False), [("a", A), ("b", B)]),
    "pretty_printed_json": (raw('{\n  "a": {"dtype": "F32", "shape": [ 2 ], "data_offsets": [0, 8]},\n'
                                '  "b": {"dtype": "U8", "shape": [3], "data_offsets": [8, 11]}\n}\n', AB_DATA),
                            [("a", A), ("b", B)]),
    "escaped_names": (raw('{"\\u00e9\\/x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
                          '"\\ud83d\\ude42":{"dtype":"U8","shape":[3],"data_offsets":[8,11]}}', AB_DATA),
                      [("é/x", A), ("🙂", B)]),
    "empty_tensors_share_offsets": (su.craft({"z1": E("I16", [0, 2], 0, 0), "a": E("F32", [2], 0, 8),
                                              "z2": E("I16", [0, 2], 8, 8), "b": E("U8", [3], 8, 11)}, AB_DATA),
                                    [("z1", Z), ("a", A), ("z2", Z), ("b", B)]),
    "no_tensors": (su.craft({}), []),
    "only_metadata": (su.craft({"__metadata__": {"format": "pt"}}), []),
    "metadata_last_in_json": (su.craft({"a": F32x2, "__metadata__": {"format": "pt"}}, A.data), [("a", A)]),
}


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_accepted_edge_cases(case, tmp_path, run_mft):
    blob, listing = ACCEPTED[case]
    path = tmp_path / f"{case}.safetensors"
    path.write_bytes(blob)
    data = run_mft("ls", path, "--json", "--hash", check=0).json()
    assert data["tensors"] == [t.entry(n) for n, t in listing]
