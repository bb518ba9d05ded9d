"""`mft scan` (DESIGN.md §4, shared/reference/pickle-security.md): verdicts on the public malicious
corpora, on one generated case per attack class (tests/scan_cases.py), on every benign torch fixture,
and the command line's contract (JSON shape, exit statuses, directories, --strict).

The corpora hold MALICIOUS files: they are only ever read as bytes, by mft."""

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

import scan_cases
import torch_util as tu

# ---- the corpora ----------------------------------------------------------------------------------
#
# path (under shared/corpora) → (our verdict, the EXPECTED.md row it comes from[, why ours differs]).
# EXPECTED "infected"/"MAL"/"D" → DANGEROUS; "not infected"/"SAFE"/only Innocuous globals → SAFE.
# Where the third element is present our verdict deliberately differs from upstream's; it says why.
CORPUS = {
    "modelaudit/tests/assets/exploits/exploit1_basic_torch_bypass.pkl": ("DANGEROUS", "| exploit1_basic_torch_bypass.pkl | single STACK_GLOBAL `os.system` + REDUCE with an `echo` string |"),
    "modelaudit/tests/assets/exploits/exploit2_advanced_torch_bypass.pkl": ("DANGEROUS", "| exploit2_advanced_torch_bypass.pkl | `subprocess.call([\"/bin/sh\",\"-c\",\"echo ...\"])` |"),
    "modelaudit/tests/assets/exploits/exploit3_sophisticated_hybrid.pkl": ("DANGEROUS", "| exploit3_sophisticated_hybrid.pkl | `os.system(\"echo ...\")` |"),
    "modelaudit/tests/assets/exploits/exploit4_supply_chain_attack.pkl": ("DANGEROUS", "| exploit4_supply_chain_attack.pkl | `os.system(\"echo ...\")` |"),
    "modelaudit/tests/assets/exploits/exploit5_ultra_high_confidence.pkl": ("DANGEROUS", "| exploit5_ultra_high_confidence.pkl | `os.system(\"echo ...\")` |"),
    "modelaudit/tests/assets/exploits/exploit6_ordereddict_bypass.pkl": ("DANGEROUS", "| exploit6_ordereddict_bypass.pkl | `os.system(\"echo ...\")` |"),
    "modelaudit/tests/assets/exploits/exploit7_nested_collections.pkl": ("DANGEROUS", "| exploit7_nested_collections.pkl | `subprocess.Popen([\"/bin/echo\", ...])` |"),
    "modelaudit/tests/assets/exploits/exploit9_manual_construction.pkl": ("DANGEROUS", "| exploit9_manual_construction.pkl | decoy STACK_GLOBAL+POP pairs for `torch.Tensor`, `torch.nn.Module`, `torch.nn.Linear`, `torch.nn.Conv2d`, `collec"),
    "modelaudit/tests/assets/exploits/exploit_ultimate_50pct.pkl": ("DANGEROUS", "| exploit_ultimate_50pct.pkl | ~20 decoy torch STACK_GLOBALs (`torch.Tensor`, `torch.FloatTensor`, `torch.nn.*`, `torch.optim`, ...), then `os.system("),
    "modelaudit/tests/assets/pickles/memo_attack.pkl": ("DANGEROUS", "| memo_attack.pkl | protocol 5 header; STACK_GLOBAL `subprocess.call` (operands MEMOIZEd) + REDUCE | \u22651 issue mentioning subprocess |"),
    "modelaudit/tests/assets/pickles/multiple_stream_attack.pkl": ("DANGEROUS", "| multiple_stream_attack.pkl | two protocol-5 streams back to back: bytes 0\u201337 a benign dict, then from offset 38 `builtins.eval(...)` | \u22651 issue ment"),
    "modelaudit/tests/assets/pickles/nt_alias_attack.pkl": ("DANGEROUS", "| nt_alias_attack.pkl | 28 bytes: STACK_GLOBAL `nt.system` only (no call) | \u22651 issue mentioning nt, first one CRITICAL |"),
    "modelaudit/tests/assets/pickles/posix_alias_attack.pkl": ("DANGEROUS", "| posix_alias_attack.pkl | STACK_GLOBAL `posix.system` only | \u22651 issue mentioning posix, first one CRITICAL |"),
    "modelaudit/tests/assets/pickles/stack_global_attack.pkl": ("DANGEROUS", "| stack_global_attack.pkl | STACK_GLOBAL `posix.system` + REDUCE | \u22651 issue mentioning os/posix/nt; the \"Suspicious reference\" issues carry a rule cod"),
    "modelaudit/tests/assets/samples/archives/path_traversal.zip": ("DANGEROUS", "| archives/path_traversal.zip | MAL | entries `../../../etc/evil.txt` (path traversal) and `model/malicious.pkl` (`posix.system` reduce) |"),
    "modelaudit/tests/assets/samples/archives/safe_model.zip": ("SAFE", "| archives/safe_model.zip | SAFE | `model/weights.txt`, `README.txt` |"),
    "modelaudit/tests/assets/samples/keras/malicious_lambda.h5": ("DANGEROUS", "| keras/malicious_lambda.h5 | MAL when h5py is available | 6 KB minimal HDF5 file; `model_config` attribute JSON has a `Lambda` layer whose function t"),
    "modelaudit/tests/assets/samples/keras/safe_model.h5": ("SAFE", "| keras/safe_model.h5 | SAFE | same layout, one `Dense` layer |"),
    "modelaudit/tests/assets/samples/pickles/decode_exec_chain.pkl": ("SUSPICIOUS", "| decode_exec_chain.pkl | MAL | plain dict, **no globals**; values hold a base64 string of `os.system('echo ATTACK')`, a base64-encoded protocol-4 pic", 'no global at all: the os.system text is inert; the base64 pickle inside only runs if the application unpickles it (it calls builtins.print): SUSPICIOUS, --strict fails it'),
    "modelaudit/tests/assets/samples/pickles/dill_func.pkl": ("DANGEROUS", "| dill_func.pkl | MAL (flagged) | dill-serialised lambda: STACK_GLOBAL `dill._dill._create_function`, then `dill._dill._create_code` (module operand t"),
    "modelaudit/tests/assets/samples/pickles/evil.pickle": ("DANGEROUS", "| evil.pickle | MAL | `posix.system` reduce |"),
    "modelaudit/tests/assets/samples/pickles/malicious_model_realistic.pkl": ("SUSPICIOUS", "| malicious_model_realistic.pkl | MAL | BERT-like config/state_dict dict (no globals) with a raw nested pickle under `training_metadata` and a base64 ", 'embedded pickles (builtins.print) do not run when the file loads: SUSPICIOUS, --strict fails it'),
    "modelaudit/tests/assets/samples/pickles/malicious_system_call.pkl": ("DANGEROUS", "| malicious_system_call.pkl | MAL | `posix.system` reduce |"),
    "modelaudit/tests/assets/samples/pickles/nested_pickle_base64.pkl": ("SUSPICIOUS", "| nested_pickle_base64.pkl | MAL | same inner pickle, base64-encoded in a string |", 'embedded pickle (builtins.print) does not run when the file loads: SUSPICIOUS'),
    "modelaudit/tests/assets/samples/pickles/nested_pickle_hex.pkl": ("SUSPICIOUS", "| nested_pickle_hex.pkl | MAL | same inner pickle, hex-encoded in a string |", 'embedded pickle (builtins.print) does not run when the file loads: SUSPICIOUS'),
    "modelaudit/tests/assets/samples/pickles/nested_pickle_multistage.pkl": ("SUSPICIOUS", "| nested_pickle_multistage.pkl | MAL | bytes holding a pickle that itself holds a pickle (2 levels), plus a base64 copy |", 'embedded pickles (builtins.print) do not run when the file loads: SUSPICIOUS'),
    "modelaudit/tests/assets/samples/pickles/nested_pickle_raw.pkl": ("SUSPICIOUS", "| nested_pickle_raw.pkl | MAL | dict with a BINBYTES value that is itself a pickle calling `builtins.print(...)`; upstream expects a \"nested pickle\" i", 'embedded pickle (builtins.print) does not run when the file loads: SUSPICIOUS'),
    "modelaudit/tests/assets/samples/pickles/safe_data.pkl": ("SAFE", "| safe_data.pkl | SAFE | `{\"safe\": True, \"data\": [1,2,3]}` |"),
    "modelaudit/tests/assets/samples/pickles/safe_large_model.pkl": ("SAFE", "| safe_large_model.pkl | SAFE | 563 KB, no globals; 9 FRAME opcodes, ~61k BINFLOATs, repetitive pattern strings |"),
    "modelaudit/tests/assets/samples/pickles/safe_model_with_binary.pkl": ("SAFE", "| safe_model_with_binary.pkl | SAFE | no globals; CNN-like dict with BINBYTES blobs (`weights_binary`, `compressed_config`) that must not trigger nest"),
    "modelaudit/tests/assets/samples/pickles/safe_model_with_encoding.pkl": ("SAFE", "| safe_model_with_encoding.pkl | SAFE | no globals; base64-encoded JSON/YAML/license text and a hex signature string |"),
    "modelaudit/tests/assets/samples/pickles/safe_model_with_tokens.pkl": ("SAFE", "| safe_model_with_tokens.pkl | SAFE | no globals; BERT-like metadata, alphabet-like tokenizer string, hash string, 600 floats |"),
    "modelaudit/tests/assets/samples/pickles/safe_nested_structure.pkl": ("SAFE", "| safe_nested_structure.pkl | SAFE | no globals; deeply nested dicts/lists, memo reuse (BINGET), 2,400 floats |"),
    "modelaudit/tests/assets/samples/pickles/simple_nested.pkl": ("SUSPICIOUS", "| simple_nested.pkl | treated as MAL (excluded from the safe set) | dict whose bytes value is a harmless inner pickle `{\"malicious\": \"data\"}` |", 'harmless embedded pickle: SUSPICIOUS (upstream excludes it from the safe set too)'),
    "modelaudit/tests/assets/samples/pipeline.skops": ("SAFE", "| pipeline.skops | n/a (used as a real sklearn `skops` file by the skops scanner tests) | ZIP with one `schema.json` (13.6 KB) |"),
    "modelaudit/tests/assets/samples/pytorch/malicious_eval.pt": ("DANGEROUS", "| pytorch/malicious_eval.pt | MAL | ZIP with root-level `version` and `data.pkl` (no `archive/` prefix); data.pkl = `builtins.eval(\"print('security te"),
    "modelaudit/tests/assets/samples/pytorch/safe_model.pt": ("SAFE", "| pytorch/safe_model.pt | SAFE | same layout; data.pkl = `{\"weights\": {\"layer1\": [1.0, 2.0, 3.0]}}` |"),
    "modelaudit/tests/assets/samples/safetensors/malicious_import.safetensors": ("SAFE", "| safetensors/malicious_import.safetensors | MAL (only this one is in the upstream regression malicious set) | same tensors; metadata `model_info` = P", 'safetensors metadata is text no loader executes: SAFE'),
    "modelaudit/tests/assets/samples/safetensors/multiple_patterns.safetensors": ("SAFE", "| safetensors/multiple_patterns.safetensors | n/a (name implies suspicious metadata) | metadata with subprocess call text, URLs, `rm -rf`/wget, `<scri"),
    "modelaudit/tests/assets/samples/safetensors/obfuscated_metadata.safetensors": ("SAFE", "| safetensors/obfuscated_metadata.safetensors | n/a (suspicious metadata) | metadata with `\\x..` escapes and base64 `exec(...)` text |"),
    "modelaudit/tests/assets/samples/safetensors/safe_model.safetensors": ("SAFE", "| safetensors/safe_model.safetensors | SAFE | header `__metadata__` with harmless text; tensors `bias` F32 [256], `embeddings` F32 [100,768], `weights"),
    "modelaudit/tests/assets/samples/safetensors/script_injection.safetensors": ("SAFE", "| safetensors/script_injection.safetensors | n/a (suspicious metadata) | metadata with HTML `<script>` text |"),
    "modelaudit/tests/assets/samples/safetensors/shell_commands.safetensors": ("SAFE", "| safetensors/shell_commands.safetensors | n/a (suspicious metadata) | metadata with `chmod 777`, `rm -rf`, `wget` text |"),
    "modelaudit/tests/assets/samples/safetensors/suspicious_url.safetensors": ("SAFE", "| safetensors/suspicious_url.safetensors | n/a (suspicious metadata) | metadata with exfiltration-looking URLs |"),
    "modelaudit/tests/assets/samples/tensorflow/malicious_pyfunc/saved_model.pb": ("ERROR", "| tensorflow/malicious_pyfunc/saved_model.pb | MAL only if the TensorFlow scanner is present (skipped otherwise) | 35-byte protobuf stub: a graph with", 'TensorFlow GraphDefs are not analysed by mft scan: ERROR (exit 2), never SAFE'),
    "modelaudit/tests/assets/samples/tensorflow/safe_savedmodel/saved_model.pb": ("ERROR", "| tensorflow/safe_savedmodel/saved_model.pb | SAFE | 20-byte protobuf stub with one `Const` node |", 'TensorFlow GraphDefs are not analysed by mft scan: ERROR (exit 2)'),
    "modelaudit/tests/assets/scenarios/license_scenarios/agpl_component/agpl_model.pkl": ("SUSPICIOUS", "| license_scenarios/agpl_component/agpl_model.pkl | n/a (license/file-type tests; scan must succeed) | 874 KB: object of class `__main__.AGPLNeuralNet"),
    "modelaudit/tests/assets/scenarios/license_scenarios/mit_model/model_weights.pkl": ("SAFE", "| license_scenarios/mit_model/model_weights.pkl | n/a (benign plain data) | `{\"weights\":[1..5], \"bias\":0.1, \"model_type\":\"linear\"}` |"),
    "modelaudit/tests/assets/scenarios/license_scenarios/mixed_licenses/mixed_model.pkl": ("SAFE", "| license_scenarios/mixed_licenses/mixed_model.pkl | n/a (benign plain data) | dict of strings/lists |"),
    "modelaudit/tests/assets/scenarios/license_scenarios/unlicensed_dataset/embeddings.npy": ("SAFE", "| license_scenarios/unlicensed_dataset/embeddings.npy | n/a (benign) | .npy v1.0, `<f8`, shape (1000, 50), no pickle |"),
    "modelaudit/tests/assets/scenarios/security_scenarios/mixed_malicious_model/model.pkl": ("DANGEROUS", "| security_scenarios/mixed_malicious_model/model.pkl | MAL (scenario must give exit code 1) | `builtins.eval(\"__import__('os').system('curl ...')\")` |"),
    "picklescan/tests/data/bad_pytorch.pt": ("ERROR", "| bad_pytorch.pt | 8 bytes: the PNG signature, named .pt | not a pickle; 1 file, 0 issues, no error (`scan_err` false) |", 'a PNG is not a model file: ERROR (exit 2), never SAFE; picklescan calls it clean'),
    "picklescan/tests/data/benign0_v0.pkl": ("SAFE", "| benign0_v0.pkl | list `[\"a\",\"b\",\"c\"]`, protocol 0 | no globals; safe (used only in the directory scan) |"),
    "picklescan/tests/data/benign0_v3.pkl": ("SAFE", "| benign0_v3.pkl | same list, protocol 3 | no globals; 1 file, 0 issues, not infected |"),
    "picklescan/tests/data/benign0_v4.pkl": ("SAFE", "| benign0_v4.pkl | same list, protocol 4 | safe; no per-file assertion (directory scan, include-filter tests count it as clean) |"),
    "picklescan/tests/data/benign_password_protected.zip": ("SUSPICIOUS", "| benign_password_protected.zip | ZIP whose one entry `test.txt` is encrypted (flag bit 0 set), not a pickle | must not crash the scanner (degrade gra", 'no upstream verdict; the encrypted member cannot be read, so SUSPICIOUS (never SAFE)'),
    "picklescan/tests/data/broken_model.pkl": ("DANGEROUS", "| broken_model.pkl | protocol-0 pickle: GLOBAL `builtins exec`, then a BINUNICODE with an absurd length (truncated/corrupt) | counted in the directory"),
    "picklescan/tests/data/malicious-invalid-bytes.pkl": ("DANGEROUS", "| malicious-invalid-bytes.pkl | same as malicious11.pkl plus trailing junk bytes after STOP | `os.system` Dangerous; 1 file, 1 issue, infected, `scan_"),
    "picklescan/tests/data/malicious0.pkl": ("DANGEROUS", "| malicious0.pkl | classic \"sour pickles\" protocol-0 chain | `__builtin__.compile` D, `__builtin__.globals` S, `__builtin__.dict` S, `__builtin__.appl"),
    "picklescan/tests/data/malicious1.7z": ("SUSPICIOUS", "| malicious1.7z | 7-Zip archive holding `data.pkl` = malicious1 | `builtins.eval` D; 1/1/1 (needs 7z support; skip if the reader has none) |", "mft does not unpack 7z: SUSPICIOUS 'members not scanned' (never SAFE); picklescan unpacks it"),
    "picklescan/tests/data/malicious1.zip": ("DANGEROUS", "| malicious1.zip | ZIP with `data.pkl` = malicious1 (protocol 4), stored | `builtins.eval` D; 1/1/1 |"),
    "picklescan/tests/data/malicious10.pkl": ("DANGEROUS", "| malicious10.pkl | protocol 0 using the INST opcode: `__builtin__ exec` | `__builtin__.exec` D; 1/1/1 |"),
    "picklescan/tests/data/malicious11.pkl": ("DANGEROUS", "| malicious11.pkl | CTF pickle: module/name strings put in the memo (PUT), a decoy `torch LongStorage` pair, then GET+GET+STACK_GLOBAL picks `os syste"),
    "picklescan/tests/data/malicious12.pkl": ("DANGEROUS", "| malicious12.pkl | hand-assembled: `operator.attrgetter(\"system\")` applied to `builtins.__import__(\"os\")` | [static] globals `operator.attrgetter` (D"),
    "picklescan/tests/data/malicious13a.pkl": ("DANGEROUS", "| malicious13a.pkl | `pickle.loads(b\"I12345\\n.\")`, protocol 0 (bytes via `_codecs.encode`) | [static] `pickle.loads` D and `_codecs.encode` S in the d"),
    "picklescan/tests/data/malicious13b.pkl": ("DANGEROUS", "| malicious13b.pkl | same, protocol 4 | [static] `_pickle.loads` D (directory aggregate) |"),
    "picklescan/tests/data/malicious14.pkl": ("DANGEROUS", "| malicious14.pkl | `runpy._run_code(\"print('456')\")` | `runpy._run_code` D; 1/1/1 |"),
    "picklescan/tests/data/malicious15a.pkl": ("DANGEROUS", "| malicious15a.pkl | `bdb.Bdb.run(bd, \"import os; os.system('whoami')\")`, protocol 2 (method via `getattr`) | [static] `__builtin__.getattr` D and `bd"),
    "picklescan/tests/data/malicious15b.pkl": ("DANGEROUS", "| malicious15b.pkl | same, protocol 4 (dotted name `Bdb.run`) | [static] `bdb.Bdb.run` D and `bdb.Bdb` D (directory aggregate) |"),
    "picklescan/tests/data/malicious16.pkl": ("DANGEROUS", "| malicious16.pkl | `pip.main([\"install\", ...])`, protocol 0 | [static] `pip.main` D (directory aggregate) |"),
    "picklescan/tests/data/malicious17.pkl": ("DANGEROUS", "| malicious17.pkl | `torch._inductor.codecache.compile_file(...)` | [static] `torch._inductor.codecache.compile_file` D (directory aggregate) |"),
    "picklescan/tests/data/malicious18.pkl": ("DANGEROUS", "| malicious18.pkl | `pydoc.pipepager(\"\", 'echo \"pwned\"')` | [static] `pydoc.pipepager` D (directory aggregate) |"),
    "picklescan/tests/data/malicious19.pkl": ("DANGEROUS", "| malicious19.pkl | `functools.partial(torch.load, path, weights_only=False, ...)` | [static] `functools.partial` D and `torch.serialization.load` D ("),
    "picklescan/tests/data/malicious1_0x1.zip": ("DANGEROUS", "| malicious1_0x1.zip | ZIP entry `model/config.pkl`, general-purpose flag 0x0001 (claims \"encrypted\") but data is plain | `builtins.eval` D; 1/1/1 (mu"),
    "picklescan/tests/data/malicious1_0x20.zip": ("DANGEROUS", "| malicious1_0x20.zip | same, flag 0x0020 (patched data) | `builtins.eval` D; 1/1/1 |"),
    "picklescan/tests/data/malicious1_0x40.zip": ("DANGEROUS", "| malicious1_0x40.zip | same, flag 0x0040 (strong encryption) | `builtins.eval` D; 1/1/1 |"),
    "picklescan/tests/data/malicious1_central_directory.zip": ("DANGEROUS", "| malicious1_central_directory.zip | as above but the local header names the entry `datap.kl` while the central directory says `data.pkl` | `builtins."),
    "picklescan/tests/data/malicious1_v0.pkl": ("DANGEROUS", "| malicious1_v0.pkl | reduce to `eval(\"print('456')\")`, protocol 0 | `__builtin__.eval` D; 1 file, 1 issue, infected |"),
    "picklescan/tests/data/malicious1_v3.pkl": ("DANGEROUS", "| malicious1_v3.pkl | same, protocol 3 | `builtins.eval` D; 1/1/1 |"),
    "picklescan/tests/data/malicious1_v4.pkl": ("DANGEROUS", "| malicious1_v4.pkl | same, protocol 4 (STACK_GLOBAL) | `builtins.eval` D; 1/1/1 |"),
    "picklescan/tests/data/malicious1_wrong_ext.zip": ("DANGEROUS", "| malicious1_wrong_ext.zip | ZIP whose entry is `data.txt` (pickle content, non-pickle extension) | `builtins.eval` D; 1/1/1 |"),
    "picklescan/tests/data/malicious20.pkl": ("DANGEROUS", "| malicious20.pkl | `venv.create(..., \"$(echo pwned)\")` | [static] `venv.create` D (directory aggregate) |"),
    "picklescan/tests/data/malicious2_v0.pkl": ("DANGEROUS", "| malicious2_v0.pkl | reduce to `os.system(\"ls -la\")`, protocol 0 | `posix.system` D; 1/1/1 |"),
    "picklescan/tests/data/malicious2_v3.pkl": ("DANGEROUS", "| malicious2_v3.pkl | same, protocol 3 | `posix.system` D; 1/1/1 |"),
    "picklescan/tests/data/malicious2_v4.pkl": ("DANGEROUS", "| malicious2_v4.pkl | same, protocol 4 | `posix.system` D; 1/1/1 |"),
    "picklescan/tests/data/malicious3.pkl": ("DANGEROUS", "| malicious3.pkl | `http.client.HTTPSConnection(\"github.com\")`, protocol 0 | `httplib.HTTPSConnection` D; 1/1/1 |"),
    "picklescan/tests/data/malicious4.pickle": ("DANGEROUS", "| malicious4.pickle | `requests.get(...)`, protocol 4 | `requests.api.get` D; 1/1/1 |"),
    "picklescan/tests/data/malicious5.pickle": ("DANGEROUS", "| malicious5.pickle | `aiohttp.ClientSession()`, protocol 4 | `aiohttp.client.ClientSession` D; 1/1/1 |"),
    "picklescan/tests/data/malicious6.pkl": ("DANGEROUS", "| malicious6.pkl | two pickles concatenated: a benign list, then `requests.get` | `requests.api.get` D; 1/1/1 (scanner must keep reading after the fir"),
    "picklescan/tests/data/malicious7.pkl": ("DANGEROUS", "| malicious7.pkl | `socket.create_connection(...)` | `socket.create_connection` D; 1/1/1 |"),
    "picklescan/tests/data/malicious8.pkl": ("DANGEROUS", "| malicious8.pkl | `subprocess.run([\"ls\",\"-l\"])` | `subprocess.run` D; 1/1/1 |"),
    "picklescan/tests/data/malicious9.pkl": ("DANGEROUS", "| malicious9.pkl | `sys.exit(0)` | `sys.exit` D; 1/1/1 |"),
    "picklescan/tests/data/new_pytorch_model.bin": ("SAFE", "| new_pytorch_model.bin | ZIP-format PyTorch file: `archive/data.pkl`, `archive/data/0`, `archive/version` | same three Innocuous globals; 1/0/0 |"),
    "picklescan/tests/data/not_a_pickle.bin": ("ERROR", "| not_a_pickle.bin | 7 bytes: `c` GLOBAL opcode + \"mod\\n\" + invalid UTF-8 byte 0xF8 | 1 file, 0 issues, no error (`scan_err` false) |", 'the only opcode fails (invalid UTF-8 global): nothing could be read, ERROR rather than clean'),
    "picklescan/tests/data/pytorch_magic_bypass.pt": ("DANGEROUS", "| pytorch_magic_bypass.pt | legacy-format layout where pickle 1 (the magic number) is produced by `eval(\"0x1950A86A20F9469CFC6C\")` instead of a litera"),
    "picklescan/tests/data/pytorch_model.bin": ("SAFE", "| pytorch_model.bin | legacy (non-ZIP) PyTorch file: magic number, protocol, sys_info, then the model pickle, then raw storage bytes | `torch.FloatSto"),
    "picklescan/tests/data/sys_module_override_sploit.pkl": ("DANGEROUS", "| sys_module_override_sploit.pkl | uses BUILD on the `torch._utils` module object to set its attribute `_rebuild_tensor` to the string `builtins`, the"),
    "picklescan/tests/data2/GHSA-3gf5-cxq9-w223.pkl": ("DANGEROUS", "| GHSA-3gf5-cxq9-w223.pkl | `idlelib.pyshell.ModifiedInterpreter.runcode` D |"),
    "picklescan/tests/data2/GHSA-3vg9-h568-4w9m.pkl": ("DANGEROUS", "| GHSA-3vg9-h568-4w9m.pkl | `idlelib.debugobj.ObjectTreeItem.SetText` D |"),
    "picklescan/tests/data2/GHSA-4675-36f9-wf6r.pkl": ("DANGEROUS", "| GHSA-4675-36f9-wf6r.pkl | `ctypes.CDLL` D |"),
    "picklescan/tests/data2/GHSA-46h3-79wf-xr6c.pkl": ("DANGEROUS", "| GHSA-46h3-79wf-xr6c.pkl | `_operator.attrgetter` D, `builtins.__import__` S |"),
    "picklescan/tests/data2/GHSA-49gj-c84q-6qm9.pkl": ("DANGEROUS", "| GHSA-49gj-c84q-6qm9.pkl | `cProfile.run` D |"),
    "picklescan/tests/data2/GHSA-4r9r-ch6f-vxmx.pkl": ("DANGEROUS", "| GHSA-4r9r-ch6f-vxmx.pkl | `torch.utils.bottleneck.__main__.run_cprofile` D |"),
    "picklescan/tests/data2/GHSA-4whj-rm5r-c2v8.pkl": ("DANGEROUS", "| GHSA-4whj-rm5r-c2v8.pkl | `torch.utils.bottleneck.__main__.run_autograd_prof` D |"),
    "picklescan/tests/data2/GHSA-5qwp-399c-mjwf.pkl": ("DANGEROUS", "| GHSA-5qwp-399c-mjwf.pkl | `trace.Trace.run` D |"),
    "picklescan/tests/data2/GHSA-6vqj-c2q5-j97w.pkl": ("DANGEROUS", "| GHSA-6vqj-c2q5-j97w.pkl | `profile.Profile.runctx` D |"),
    "picklescan/tests/data2/GHSA-6w4w-5w54-rjvr.pkl": ("DANGEROUS", "| GHSA-6w4w-5w54-rjvr.pkl | `idlelib.autocomplete.AutoComplete.get_entity` D |"),
    "picklescan/tests/data2/GHSA-7cq8-mj8x-j263.pkl": ("DANGEROUS", "| GHSA-7cq8-mj8x-j263.pkl | `idlelib.autocomplete.AutoComplete.fetch_completions` D |"),
    "picklescan/tests/data2/GHSA-7wx9-6375-f5wh.pkl": ("DANGEROUS", "| GHSA-7wx9-6375-f5wh.pkl | `profile.run` D |"),
    "picklescan/tests/data2/GHSA-84r2-jw7c-4r5q.pkl": ("DANGEROUS", "| GHSA-84r2-jw7c-4r5q.pkl | `pydoc.locate` D, `operator.methodcaller` D (2 issues) |"),
    "picklescan/tests/data2/GHSA-86cj-95qr-2p4f.pkl": ("DANGEROUS", "| GHSA-86cj-95qr-2p4f.pkl | `torch._dynamo.guards.GuardBuilder.get` D |"),
    "picklescan/tests/data2/GHSA-8r4j-24qv-fmq9.pkl": ("DANGEROUS", "| GHSA-8r4j-24qv-fmq9.pkl | `idlelib.calltip.Calltip.fetch_tip` D |"),
    "picklescan/tests/data2/GHSA-955r-x9j8-7rhh.pkl": ("DANGEROUS", "| GHSA-955r-x9j8-7rhh.pkl | `_operator.methodcaller` D, `builtins.__import__` S |"),
    "picklescan/tests/data2/GHSA-9w88-8rmg-7g2p.pkl": ("DANGEROUS", "| GHSA-9w88-8rmg-7g2p.pkl | `cProfile.runctx` D |"),
    "picklescan/tests/data2/GHSA-9xph-j2h6-g47v.pkl": ("DANGEROUS", "| GHSA-9xph-j2h6-g47v.pkl | `idlelib.calltip.get_entity` D |"),
    "picklescan/tests/data2/GHSA-cj3c-v495-4xqh.pkl": ("DANGEROUS", "| GHSA-cj3c-v495-4xqh.pkl | `code.InteractiveInterpreter.runcode` D |"),
    "picklescan/tests/data2/GHSA-f4x7-rfwp-v3xw.pkl": ("DANGEROUS", "| GHSA-f4x7-rfwp-v3xw.pkl | `torch.fx.experimental.symbolic_shapes.ShapeEnv.evaluate_guards_expression` D |"),
    "picklescan/tests/data2/GHSA-f54q-57x4-jg88.pkl": ("DANGEROUS", "| GHSA-f54q-57x4-jg88.pkl | `lib2to3.pgen2.grammar.Grammar.loads` D |"),
    "picklescan/tests/data2/GHSA-f745-w6jp-hpxx.pkl": ("DANGEROUS", "| GHSA-f745-w6jp-hpxx.pkl | `torch.utils.collect_env.run` D |"),
    "picklescan/tests/data2/GHSA-fqq6-7vqf-w3fg.pkl": ("DANGEROUS", "| GHSA-fqq6-7vqf-w3fg.pkl | `doctest.debug_script` D |"),
    "picklescan/tests/data2/GHSA-g344-hcph-8vgg.pkl": ("DANGEROUS", "| GHSA-g344-hcph-8vgg.pkl | `trace.Trace.runctx` D |"),
    "picklescan/tests/data2/GHSA-g38g-8gr9-h9xp-aix-support.pkl": ("DANGEROUS", "| GHSA-g38g-8gr9-h9xp-aix-support.pkl | `_aix_support._read_cmd_output` D |"),
    "picklescan/tests/data2/GHSA-g38g-8gr9-h9xp-imaplib.pkl": ("DANGEROUS", "| GHSA-g38g-8gr9-h9xp-imaplib.pkl | `imaplib.IMAP4_stream` D |"),
    "picklescan/tests/data2/GHSA-g38g-8gr9-h9xp-osx-support.pkl": ("DANGEROUS", "| GHSA-g38g-8gr9-h9xp-osx-support.pkl | `_osx_support._read_output` D |"),
    "picklescan/tests/data2/GHSA-g38g-8gr9-h9xp-pyrepl-pager.pkl": ("DANGEROUS", "| GHSA-g38g-8gr9-h9xp-pyrepl-pager.pkl | `_pyrepl.pager.pipe_pager` D (hand-written opcodes) |"),
    "picklescan/tests/data2/GHSA-g38g-8gr9-h9xp-test.pkl": ("DANGEROUS", "| GHSA-g38g-8gr9-h9xp-test.pkl | `test.support.script_helper.assert_python_ok` D (hand-written opcodes) |"),
    "picklescan/tests/data2/GHSA-g38g-8gr9-h9xp-uuid.pkl": ("DANGEROUS", "| GHSA-g38g-8gr9-h9xp-uuid.pkl | `uuid._get_command_stdout` D |"),
    "picklescan/tests/data2/GHSA-h3qp-7fh3-f8h4.pkl": ("DANGEROUS", "| GHSA-h3qp-7fh3-f8h4.pkl | `torch.utils.data.datapipes.utils.decoder.basichandlers` D |"),
    "picklescan/tests/data2/GHSA-j343-8v2j-ff7w.pkl": ("DANGEROUS", "| GHSA-j343-8v2j-ff7w.pkl | `idlelib.pyshell.ModifiedInterpreter.runcommand` D |"),
    "picklescan/tests/data2/GHSA-jgw4-cr84-mqxg.bin": ("DANGEROUS", "| GHSA-jgw4-cr84-mqxg.bin | `asyncio.unix_events._UnixSubprocessTransport._start` D (same pickle as q77w but `.bin` extension) |"),
    "picklescan/tests/data2/GHSA-jhph-76pp-mggw.pkl": ("DANGEROUS", "| GHSA-jhph-76pp-mggw.pkl | `torch.utils.collect_env.run` D, `torch.utils.collect_env.run_and_read_all` S |"),
    "picklescan/tests/data2/GHSA-m273-6v24-x4m4.pkl": ("DANGEROUS", "| GHSA-m273-6v24-x4m4.pkl | `distutils.file_util.write_file` D |"),
    "picklescan/tests/data2/GHSA-m869-42cg-3xwr.pkl": ("DANGEROUS", "| GHSA-m869-42cg-3xwr.pkl | `idlelib.run.Executive.runcode` D |"),
    "picklescan/tests/data2/GHSA-p9w7-82w4-7q8m.pkl": ("DANGEROUS", "| GHSA-p9w7-82w4-7q8m.pkl | `lib2to3.pgen2.pgen.ParserGenerator.make_label` D |"),
    "picklescan/tests/data2/GHSA-q77w-mwjj-7mqx.pkl": ("DANGEROUS", "| GHSA-q77w-mwjj-7mqx.pkl | `asyncio.unix_events._UnixSubprocessTransport._start` D |"),
    "picklescan/tests/data2/GHSA-r8g5-cgf2-4m4m.pkl": ("DANGEROUS", "| GHSA-r8g5-cgf2-4m4m.pkl | `numpy.f2py.crackfortran.getlincoef` D |"),
    "picklescan/tests/data2/GHSA-vqmv-47xg-9wpr.pkl": ("DANGEROUS", "| GHSA-vqmv-47xg-9wpr.pkl | `pty.spawn` D |"),
    "picklescan/tests/data2/GHSA-vr7h-p6mm-wpmh.pkl": ("DANGEROUS", "| GHSA-vr7h-p6mm-wpmh.pkl | `torch.jit.unsupported_tensor_ops.execWrapper` D |"),
    "picklescan/tests/data2/GHSA-vv6j-3g6g-2pvj.pkl": ("DANGEROUS", "| GHSA-vv6j-3g6g-2pvj.pkl | `torch.utils._config_module.ConfigModule.load_config` D |"),
    "picklescan/tests/data2/GHSA-vvpj-8cmc-gx39.pkl": ("DANGEROUS", "| GHSA-vvpj-8cmc-gx39.pkl | `pkgutil.resolve_name` D |"),
    "picklescan/tests/data2/GHSA-x696-vm39-cp64.pkl": ("DANGEROUS", "| GHSA-x696-vm39-cp64.pkl | `profile.Profile.run` D |"),
    "picklescan/tests/data2/GHSA-xp4f-hrf8-rxw7.pkl": ("DANGEROUS", "| GHSA-xp4f-hrf8-rxw7.pkl | `ensurepip._run_pip` D |"),
    "picklescan/tests/data2/cloudpickle_codeinjection.pkl": ("DANGEROUS", "| cloudpickle_codeinjection.pkl | six cloudpickle helpers, all D: `cloudpickle.cloudpickle._function_setstate`, `_builtin_type`, `_make_function`, `_m"),
    "picklescan/tests/data2/dns_exfiltration.npy": ("DANGEROUS", "| dns_exfiltration.npy | .npy, dtype object, shape (1,); pickle calls `ssl.get_server_certificate((fqdn, 443))` | `numpy._core.multiarray._reconstruct"),
    "picklescan/tests/data2/int_array.npy": ("SAFE", "| int_array.npy | .npy, dtype `<i4`, shape (2,2); raw data, no pickle | no globals; 1/0/0 |"),
    "picklescan/tests/data2/int_arrays.npz": ("SAFE", "| int_arrays.npz | NPZ (stored), two int arrays | no globals; scanned_files=2, 0 issues |"),
    "picklescan/tests/data2/int_arrays_compressed.npz": ("SAFE", "| int_arrays_compressed.npz | same, deflate-compressed | no globals; scanned_files=2, 0 issues |"),
    "picklescan/tests/data2/io_FileIO.pkl": ("DANGEROUS", "| io_FileIO.pkl | `_io.FileIO` D |"),
    "picklescan/tests/data2/keyerror-exploit.pkl": ("DANGEROUS", "| keyerror-exploit.pkl | `os.system` D (plain GLOBAL + REDUCE), then a STACK_GLOBAL whose module operand is a BINGET of a memo slot that was never set"),
    "picklescan/tests/data2/logging_FileHandler.pkl": ("DANGEROUS", "| logging_FileHandler.pkl | `logging.FileHandler` D |"),
    "picklescan/tests/data2/malicious1_crc.zip": ("DANGEROUS", "| malicious1_crc.zip | ZIP with `data.pkl` = malicious1 but payload bytes altered so the stored CRC-32 no longer matches | `builtins.eval` D; 1/1/1 (t"),
    "picklescan/tests/data2/malicious21.pkl": ("DANGEROUS", "| malicious21.pkl | `timeit.timeit` D |"),
    "picklescan/tests/data2/malicious22.pkl": ("DANGEROUS", "| malicious22.pkl | `numpy.testing._private.utils.runstring` D |"),
    "picklescan/tests/data2/malicious23.pkl": ("DANGEROUS", "| malicious23.pkl | `os.system` D \u2014 STACK_GLOBAL fed by protocol-0 STRING opcodes (quoted `'os'`, `'system'`), not unicode ops |"),
    "picklescan/tests/data2/object_array.npy": ("SAFE", "| object_array.npy | .npy, dtype object (`|O`), shape (2,2), pickled payload after the header | `numpy.core.multiarray._reconstruct` I, `numpy.ndarray"),
    "picklescan/tests/data2/object_arrays.npz": ("SAFE", "| object_arrays.npz | NPZ (stored) with `a.npy`, `b.npy`, both object arrays | the three numpy Innocuous globals twice; scanned_files=2, 0 issues |"),
    "picklescan/tests/data2/object_arrays_compressed.npz": ("SAFE", "| object_arrays_compressed.npz | same, deflate-compressed members | same as above; scanned_files=2, 0 issues |"),
    "picklescan/tests/data2/type-confusion-exploit.pkl": ("DANGEROUS", "| type-confusion-exploit.pkl | `os.system` D, then a STACK_GLOBAL whose module operand is the integer 42 (from memo); expected global module `\"42\"`, n"),
    "picklescan/tests/data2/types_CodeType.pkl": ("DANGEROUS", "| types_CodeType.pkl | `types.CodeType` D (hand-built: CodeType constructed from args, then REDUCE) |"),
    "picklescan/tests/data2/urllib_request_urlopen.pkl": ("DANGEROUS", "| urllib_request_urlopen.pkl | `urllib.request.urlopen` D |"),
}

# The reasons that matter for the trickiest files: a global (or finding kind) that must be reported.
CORPUS_MUST = {
    "picklescan/tests/data/malicious11.pkl": ["os.system"],             # memo CTF with a decoy
    "picklescan/tests/data/malicious6.pkl": ["requests.api.get"],       # second stream
    "picklescan/tests/data/malicious-invalid-bytes.pkl": ["os.system", "trailing"],
    "picklescan/tests/data/broken_model.pkl": ["builtins.exec", "malformed"],
    "picklescan/tests/data/pytorch_magic_bypass.pt": ["builtins.eval", "posix.system"],
    "picklescan/tests/data/sys_module_override_sploit.pkl": ["unresolved-import", "BUILD"],
    "picklescan/tests/data/malicious1_central_directory.zip": ["builtins.eval", "local header"],
    "picklescan/tests/data/malicious1_0x1.zip": ["builtins.eval", "flags"],
    "picklescan/tests/data2/malicious1_crc.zip": ["builtins.eval", "CRC"],
    "picklescan/tests/data2/keyerror-exploit.pkl": ["os.system", "never stored"],
    "picklescan/tests/data2/type-confusion-exploit.pkl": ["os.system", "not two str"],
    "picklescan/tests/data2/malicious23.pkl": ["os.system"],
    "picklescan/tests/data2/dns_exfiltration.npy": ["ssl.get_server_certificate"],
    "picklescan/tests/data2/cloudpickle_codeinjection.pkl": ["cloudpickle.cloudpickle._make_function"],
    "picklescan/tests/data/malicious3.pkl": ["http.client.HTTPSConnection"],
    "modelaudit/tests/assets/pickles/multiple_stream_attack.pkl": ["builtins.eval"],
    "modelaudit/tests/assets/pickles/nt_alias_attack.pkl": ["nt.system"],
    "modelaudit/tests/assets/pickles/memo_attack.pkl": ["subprocess.call"],
    "modelaudit/tests/assets/exploits/exploit_ultimate_50pct.pkl": ["os.system"],
    "modelaudit/tests/assets/samples/archives/path_traversal.zip": ["posix.system", "traversal"],
    "modelaudit/tests/assets/samples/keras/malicious_lambda.h5": ["Lambda"],
    "modelaudit/tests/assets/samples/pickles/dill_func.pkl": ["dill._dill._create_function"],
    "modelaudit/tests/assets/samples/pickles/nested_pickle_raw.pkl": ["embedded", "builtins.print"],
    "modelaudit/tests/assets/samples/pickles/nested_pickle_base64.pkl": ["base64-encoded"],
    "modelaudit/tests/assets/samples/pickles/nested_pickle_hex.pkl": ["hex-encoded"],
    "modelaudit/tests/assets/scenarios/license_scenarios/agpl_component/agpl_model.pkl":
        ["__main__.AGPLNeuralNetwork"],
}

EXIT = {"SAFE": 0, "SUSPICIOUS": 0, "DANGEROUS": 1, "ERROR": 2}
STRICT_EXIT = {"SAFE": 0, "SUSPICIOUS": 1, "DANGEROUS": 1, "ERROR": 2}


def finding_text(doc):
    return " ".join(" ".join(str(f.get(k)) for k in ("global", "canonical", "kind", "message", "member"))
                    for f in doc["findings"])


def scan_one(run_mft, path, *flags):
    res = run_mft("scan", "--json", *flags, path, timeout=120)
    doc = res.json()
    assert list(doc) == ["files"] and len(doc["files"]) == 1, res.describe()
    return res, doc["files"][0]


def corpus_files(shared_dir):
    root = shared_dir / "corpora"
    out = []
    for corpus in ("picklescan", "modelaudit"):
        for p in sorted((root / corpus).rglob("*")):
            if p.is_file() and p.suffix != ".md":
                out.append(p.relative_to(root).as_posix())
    return root, out


def test_corpus_table_is_complete(shared_dir):
    """Every file of both corpora has an expectation here (none is skipped silently), and no entry
    names a file that is gone."""
    _, files = corpus_files(shared_dir)
    assert sorted(files) == sorted(CORPUS), (
        f"missing: {sorted(set(files) - set(CORPUS))}, stale: {sorted(set(CORPUS) - set(files))}")


@pytest.mark.parametrize("rel", sorted(CORPUS))
def test_corpus_verdict(run_mft, shared_dir, rel):
    path = shared_dir / "corpora" / rel
    if not path.exists():
        pytest.fail(f"corpus file missing: {path}")
    want, expected_row, *why = CORPUS[rel]
    res, doc = scan_one(run_mft, str(path))
    assert doc["verdict"] == want, (
        f"{rel}: got {doc['verdict']}, want {want}\nEXPECTED.md: {expected_row}\n"
        + (f"(deliberate difference: {why[0]})\n" if why else "") + res.describe())
    assert res.rc == EXIT[want], res.describe()
    text = finding_text(doc)
    for must in CORPUS_MUST.get(rel, []):
        assert must in text, f"{rel}: no finding mentions {must!r}:\n{res.describe()}"
    if want == "DANGEROUS":
        dangerous = [f for f in doc["findings"] if f["severity"] == "dangerous"]
        assert dangerous and all(f["message"] for f in dangerous)
    if want == "ERROR":
        assert doc["error"], res.describe()


def test_corpora_in_one_call(run_mft, shared_dir):
    """Both corpora as directories in one call: the same verdicts, exit 1 (something DANGEROUS)."""
    root, files = corpus_files(shared_dir)
    res = run_mft("scan", "--json", root / "picklescan", root / "modelaudit", timeout=300)
    assert res.rc == 1, res.describe()
    got = {Path(f["file"]).relative_to(root).as_posix(): f["verdict"] for f in res.json()["files"]}
    for rel in files:
        assert got.get(rel) == CORPUS[rel][0], rel


# ---- one case per attack class --------------------------------------------------------------------

CASES = scan_cases.cases()


def test_every_attack_class_has_a_case():
    """§3 lists attacks 1–38 (3.1: 1–18, 3.2: gadgets, 3.3: 19–32, 3.4: 33–38)."""
    covered = set()
    for c in CASES:
        for part in c.section.replace("#", " ").split():
            if part.isdigit():
                covered.add(int(part))
    assert covered >= set(range(1, 39)), sorted(set(range(1, 39)) - covered)
    assert any(c.section == "§3.2" for c in CASES)
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_attack_case(run_mft, tmp_path, case):
    path = tmp_path / case.filename
    path.write_bytes(case.data)
    start = time.monotonic()
    res, doc = scan_one(run_mft, str(path))
    elapsed = time.monotonic() - start
    assert doc["verdict"] == case.verdict, f"{case.section} {case.what}\n{res.describe(6000)}"
    assert res.rc == EXIT[case.verdict], res.describe()
    text = finding_text(doc)
    for must in case.must:
        assert must in text, f"{case.name}: no finding mentions {must!r}\n{res.describe(6000)}"
    assert elapsed < 60, f"{case.name} took {elapsed:.1f}s"
    strict = run_mft("scan", "--strict", path)
    assert strict.rc == STRICT_EXIT[case.verdict], strict.describe()


# ---- benign torch files ---------------------------------------------------------------------------

# whole pickled models, TorchScript, checkpoints holding argparse/dataclass objects: SUSPICIOUS
# (loading imports user code); everything else the fixture generator writes is data only: SAFE.
SUSPICIOUS_FIXTURES = {"checkpoint_objects.pt", "ckpt_with_model.pt", "legacy_model.pt",
                       "model_helper_blocks.pt", "model_main_blocks.pt", "model_nested_seq.pt",
                       "model_nonpersistent.pt", "model_plain.pt", "ts_scripted.pt", "ts_traced.pt"}


def check_fixture_dir(run_mft, directory, names):
    res = run_mft("scan", "--json", directory, timeout=300)
    docs = {Path(f["file"]).name: f for f in res.json()["files"]}
    for name in names:
        doc = docs.get(name)
        assert doc, f"{name} was not scanned:\n{res.describe()}"
        want = "SUSPICIOUS" if name in SUSPICIOUS_FIXTURES else "SAFE"
        assert doc["verdict"] == want, f"{name}: {json.dumps(doc, indent=1)[:3000]}"
        assert not any(f["severity"] == "dangerous" for f in doc["findings"])
        if name.startswith("ts_"):
            assert any(f["kind"] == "torchscript" for f in doc["findings"])


def test_torch2_fixtures(run_mft):
    manifest = tu.torch2_manifest()
    assert manifest, "tests/fixtures/torch2/manifest.json missing"
    names = [f["file"] for f in manifest["files"]]
    assert len(names) >= 30
    check_fixture_dir(run_mft, tu.TORCH2_DIR, names)


def test_torch113_fixtures(run_mft, torch113_fixtures):
    directory, manifest = torch113_fixtures
    names = [f["file"] for f in manifest["files"]]
    assert len(names) >= 30
    check_fixture_dir(run_mft, directory, names)


# ---- the command line -----------------------------------------------------------------------------

def test_json_shape_and_exit_codes(run_mft, tmp_path):
    safe = tmp_path / "safe.pt"
    safe.write_bytes(scan_cases.torch_file(scan_cases.BENIGN_SD))
    evil = tmp_path / "evil.pt"
    evil.write_bytes(scan_cases.torch_file(scan_cases.EVIL))
    odd = tmp_path / "odd.pkl"
    odd.write_bytes(scan_cases.pickle_of(scan_cases.glob("__main__", "Net") + b")R"))
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\xff\xfe not a model")

    res, doc = scan_one(run_mft, str(evil))
    assert res.rc == 1 and doc["verdict"] == "DANGEROUS" and doc["format"] == "pytorch-zip"
    f = doc["findings"][0]
    assert set(f) >= {"severity", "global", "member", "offset", "message"}
    assert (f["severity"], f["global"], f["member"]) == ("dangerous", "os.system", "archive/data.pkl")
    data_pkl = tu.base_members(scan_cases.EVIL)["data.pkl"]
    assert data_pkl[f["offset"]:f["offset"] + 1] == b"c"  # the GLOBAL opcode, offset in the member
    assert "os.system" in doc["imports"]

    assert scan_one(run_mft, str(safe))[0].rc == 0
    res, doc = scan_one(run_mft, str(odd))
    assert (res.rc, doc["verdict"]) == (0, "SUSPICIOUS")
    assert run_mft("scan", "--strict", odd).rc == 1
    res, doc = scan_one(run_mft, str(junk))
    assert (res.rc, doc["verdict"]) == (2, "ERROR") and doc["error"]
    res, doc = scan_one(run_mft, str(tmp_path / "missing.pt"))
    assert (res.rc, doc["verdict"]) == (2, "ERROR")

    # several files: a finding outranks an error; SAFE/SUSPICIOUS alone exit 0
    assert run_mft("scan", safe, odd).rc == 0
    assert run_mft("scan", safe, junk).rc == 2
    assert run_mft("scan", junk, evil).rc == 1
    res = run_mft("scan", safe, odd, evil, junk)
    assert "4 files: 1 SAFE, 1 SUSPICIOUS, 1 DANGEROUS, 1 ERROR" in res.out
    assert "SEVERITY" in res.out and "os.system" in res.out


def test_directories_recursive(run_mft, tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "deep.pkl").write_bytes(scan_cases.EVIL)
    (tmp_path / "a" / "ok.pkl").write_bytes(scan_cases.BENIGN)
    (tmp_path / "top.pt").write_bytes(scan_cases.torch_file(scan_cases.BENIGN_SD))
    os.symlink(tmp_path / "a", tmp_path / "loop")  # a link to a directory is not followed
    res = run_mft("scan", "--json", tmp_path)
    files = [Path(f["file"]).relative_to(tmp_path).as_posix() for f in res.json()["files"]]
    assert files == ["a/b/deep.pkl", "a/ok.pkl", "top.pt"], files
    assert res.rc == 1


def test_usage(run_mft):
    assert run_mft("scan").rc == 2
    assert run_mft("scan", "--bogus", "x").rc == 2
    res = run_mft("scan", "--help")
    assert res.rc == 0 and "--strict" in res.out
    assert "scan" in run_mft("--help").out


def test_memory_and_time_bounded(mft_release_bin, tmp_path):
    """Bombs stay cheap: a 2^62-byte string, 10^11 memo references, 10^5 nesting levels, a member
    claiming 4 GiB — each scanned within a 1 GiB address-space limit in seconds."""
    names = ["huge_binunicode8", "billion_laughs", "deep_nesting", "size_lie", "dup_laughs",
             "huge_memo_index"]
    for c in CASES:
        if c.name not in names:
            continue
        p = tmp_path / c.filename
        p.write_bytes(c.data)
        start = time.monotonic()
        proc = subprocess.run(["bash", "-c", f'ulimit -v 1048576; exec "$0" scan --json "$1"',
                               mft_release_bin, str(p)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=60)
        assert time.monotonic() - start < 20, c.name
        doc = json.loads(proc.stdout)["files"][0]
        assert doc["verdict"] == c.verdict, (c.name, proc.stderr[-2000:])


# ---- differential checks against CPython (benign, harmless inputs only) ----------------------------

class _Recorder:
    """A stand-in for any imported object: callable, constructible, accepts any state."""

    def __init__(self, *a, **k):
        pass

    def __setstate__(self, state):
        pass

    def __setitem__(self, k, v):
        pass

    def append(self, v):
        pass

    def extend(self, v):
        pass


def cpython_imports(data):
    """The (module, name) pairs CPython's own unpickler looks up, recorded by a find_class that
    never imports anything (pickle._Unpickler: it tracks the protocol the _compat_pickle mapping
    depends on)."""
    import _compat_pickle
    import io
    import pickle

    seen = []

    class U(pickle._Unpickler):
        def find_class(self, module, name):
            if self.proto < 3:
                if (module, name) in _compat_pickle.NAME_MAPPING:
                    module, name = _compat_pickle.NAME_MAPPING[(module, name)]
                elif module in _compat_pickle.IMPORT_MAPPING:
                    module = _compat_pickle.IMPORT_MAPPING[module]
            seen.append(f"{module}.{name}")
            return type(name, (_Recorder,), {})

        def persistent_load(self, pid):
            return _Recorder()

    U(io.BytesIO(data)).load()
    return seen


def benign_pickles():
    """(label, file, pickle bytes) of the committed torch fixtures: raw pickles and every data.pkl."""
    import zipfile
    out = []
    for p in sorted(tu.TORCH2_DIR.iterdir()):
        if p.suffix in (".pkl",):
            out.append((p.name, p, p.read_bytes()))
        elif p.suffix in (".pt", ".pth", ".bin") and zipfile.is_zipfile(p):
            with zipfile.ZipFile(p) as z:
                for n in z.namelist():
                    if n.endswith("data.pkl"):
                        out.append((f"{p.name}!{n}", p, z.read(n)))
    return out


def test_imports_match_cpython(run_mft):
    """mft's list of imports equals what CPython's unpickler asks for, on every benign fixture."""
    checked = 0
    for label, path, data in benign_pickles():
        if label.startswith("ts_"):
            continue  # TorchScript's data.pkl is read by torch.jit's own unpickler
        want = set(cpython_imports(data))
        res, doc = scan_one(run_mft, str(path))
        assert want <= set(doc["imports"]), (label, sorted(want - set(doc["imports"])))
        checked += 1
    assert checked >= 25


INT_SPELLINGS = [b"I0x10\n.", b"I010\n.", b"I1_000\n.", b"I 7 \n.", b"I+1\n.", b"I01\n.", b"I00\n.",
                 b"I-0x7f\n.", b"I99999999999999999999\n.", b"L0x_ffL\n.", b"L-0o777L\n.",
                 b"L0b101\n.", b"L00\n.", b"L12345678901234567890123L\n.", b"I5\x00junk\n."]


@pytest.mark.parametrize("data", INT_SPELLINGS, ids=[repr(d) for d in INT_SPELLINGS])
def test_int_literals_like_cpython(run_mft, tmp_path, data):
    """INT/LONG text is read as CPython reads it (base prefixes, underscores, octal, NUL), so a
    payload behind such a literal is never hidden (§3.3 #23). The pickles hold only a number."""
    import pickle
    want = pickle.loads(data)
    p = tmp_path / "n.pkl"
    p.write_bytes(data)
    res = run_mft("show", "--json", p, check=0)
    assert res.json() == want, res.describe()


@pytest.mark.parametrize("data", [b"I09\n.", b"I0x\n.", b"L1__0\n.", b"L010\n.", b"I_1\n."],
                         ids=lambda d: repr(d))
def test_int_literals_cpython_refuses(run_mft, tmp_path, data):
    import pickle
    with pytest.raises(Exception):
        pickle.loads(data)
    p = tmp_path / "n.pkl"
    p.write_bytes(data)
    assert run_mft("show", p).rc == 2
