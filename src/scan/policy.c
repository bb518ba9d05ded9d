/* Which imports a pickle may make: normalisation, the allowlist (SAFE) and
 * the denylist (DANGEROUS). Everything else is SUSPICIOUS: the default is
 * to deny, the denylist only explains (shared/reference/pickle-security.md
 * §2 and §3.2). */
#include "scan.h"
#include "../pickle/pickle.h"
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------ normalising */

/* Implementation modules whose public name is another (§2.1): functions
 * pickle under the module that defines them. Also the Python 2 spellings
 * _compat_pickle maps only below protocol 3 (a list lookup should not
 * depend on the protocol). */
static const char *const module_alias[][2] = {
    {"__builtin__", "builtins"}, {"__builtins__", "builtins"},
    {"exceptions", "builtins"},  {"posix", "os"},
    {"nt", "os"},                {"posixpath", "os.path"},
    {"ntpath", "os.path"},       {"macpath", "os.path"},
    {"genericpath", "os.path"},  {"_operator", "operator"},
    {"_io", "io"},               {"_pyio", "io"},
    {"_pickle", "pickle"},       {"cPickle", "pickle"},
    {"_socket", "socket"},       {"_ssl", "ssl"},
    {"_functools", "functools"}, {"_collections", "collections"},
    {"_lsprof", "cProfile"},     {"_signal", "signal"},
    {"_sqlite3", "sqlite3"},     {"_json", "json"},
    {"commands", "subprocess"},  {"copy_reg", "copyreg"},
    {"thread", "_thread"},       {"_dummy_thread", "_thread"},
    {"httplib", "http.client"},  {"urllib2", "urllib.request"},
    {"_asyncio", "asyncio"},     {"_ctypes", "ctypes"},
    {"_multiprocessing", "multiprocessing"},
    {"_posixshmem", "multiprocessing"},
    {"_winapi", "_winapi"},      {"_bz2", "bz2"},
    {"_lzma", "lzma"},           {"_heapq", "heapq"},
    {"_datetime", "datetime"},   {"_decimal", "decimal"},
    {"_pydecimal", "decimal"},   {"_random", "random"},
    {"_struct", "struct"},       {"_weakref", "weakref"},
    {"_abc", "abc"},             {"_codecs_iso2022", "codecs"},
    {"_sre", "re"},              {"sre_compile", "re"},
    {"_warnings", "warnings"},   {"_tracemalloc", "tracemalloc"},
    {"numpy.core._multiarray_umath", "numpy.core.multiarray"},
    {"numpy._core._multiarray_umath", "numpy._core.multiarray"},
};

static int starts_module(const char *s, size_t n, const char *m)
{
    size_t k = strlen(m);
    return n >= k && memcmp(s, m, k) == 0 && (n == k || s[k] == '.');
}

void mftc_scan_canonical(const char *module, size_t mlen, const char *name,
                         size_t nlen, char *out, size_t cap)
{
    /* Python 2 pairs and modules, as CPython maps them below protocol 3 */
    mftc_pickle_compat(&module, &mlen, &name, &nlen, 0);
    const char *head = module, *rest = "";
    size_t hlen = mlen, rlen = 0;
    for (size_t i = 0; i < sizeof module_alias / sizeof module_alias[0]; i++)
        if (starts_module(module, mlen, module_alias[i][0])) {
            size_t k = strlen(module_alias[i][0]);
            head = module_alias[i][1];
            hlen = strlen(head);
            rest = module + k; /* "" or ".sub" */
            rlen = mlen - k;
            break;
        }
    snprintf(out, cap, "%.*s%.*s.%.*s", (int)hlen, head, (int)rlen, rest,
             (int)nlen, name);
}

/* ------------------------------------------------------------ allowlist */

/* Exact names a data-only checkpoint needs: torch's weights_only default
 * set (torch/_weights_only_unpickler.py _get_allowed_globals), numpy's
 * array reconstruction, and the harmless builtins pickle uses for plain
 * values (sets, bytes in protocol 2). */
static const char *const allow_exact[] = {
    "collections.OrderedDict", "collections.Counter",
    "collections.defaultdict", "collections.deque",
    "builtins.set", "builtins.frozenset", "builtins.bytearray",
    "builtins.bytes", "builtins.complex", "builtins.slice", "builtins.range",
    "builtins.int", "builtins.float", "builtins.bool", "builtins.str",
    "builtins.dict", "builtins.list", "builtins.tuple", "builtins.object",
    "_codecs.encode", "copyreg._reconstructor",
    "torch.Size", "torch.Tensor", "torch.device", "torch.dtype",
    "torch.layout", "torch.memory_format", "torch.finfo", "torch.iinfo",
    "torch.strided", "torch.sparse_coo", "torch.sparse_csr",
    "torch.sparse_csc", "torch.sparse_bsr", "torch.sparse_bsc",
    "torch._mkldnn", "torch.jagged",
    "torch.contiguous_format", "torch.channels_last",
    "torch.channels_last_3d", "torch.preserve_format",
    "torch.per_tensor_affine", "torch.per_tensor_symmetric",
    "torch.per_channel_affine", "torch.per_channel_symmetric",
    "torch.per_channel_affine_float_qparams",
    "torch.serialization._get_layout",
    "torch.nn.parameter.Parameter", "torch.nn.parameter.Buffer",
    "torch._utils._rebuild_parameter",
    "torch._utils._rebuild_parameter_with_state",
    "torch._utils._rebuild_qtensor", "torch._utils._rebuild_tensor",
    "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3",
    "torch._utils._rebuild_sparse_tensor",
    "torch._utils._rebuild_sparse_csr_tensor",
    "torch._utils._rebuild_meta_tensor_no_storage",
    "torch._utils._rebuild_wrapper_subclass",
    "torch._utils._rebuild_device_tensor_from_numpy",
    "torch._utils._rebuild_device_tensor_from_cpu_tensor",
    "torch._utils._rebuild_nested_tensor",
    "torch._tensor._rebuild_from_type_v2", "torch._tensor._rebuild_from_type",
    "torch.storage.UntypedStorage", "torch.storage.TypedStorage",
    "torch.UntypedStorage", "torch.TypedStorage",
    /* TorchScript's pickle helpers: identity functions on lists */
    "torch.jit._pickle.build_intlist", "torch.jit._pickle.build_tensorlist",
    "torch.jit._pickle.build_doublelist", "torch.jit._pickle.build_boollist",
    "torch.jit._pickle.build_tensor_from_id",
    "torch.jit._pickle.restore_type_tag",
    /* numpy arrays, dtypes and scalars */
    "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
    "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
    "numpy.ndarray", "numpy.dtype",
};

static const char *const torch_dtypes[] = {
    "float32", "float", "float64", "double", "float16", "half", "bfloat16",
    "int64", "long", "int32", "int", "int16", "short", "int8", "uint8",
    "bool", "complex32", "chalf", "complex64", "cfloat", "complex128",
    "cdouble", "uint16", "uint32", "uint64", "uint1", "uint2", "uint3",
    "uint4", "uint5", "uint6", "uint7", "int1", "int2", "int3", "int4",
    "int5", "int6", "int7", "float8_e4m3fn", "float8_e5m2",
    "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu",
    "float4_e2m1fn_x2", "bits1x8", "bits2x4", "bits4x2", "bits8", "bits16",
    "quint8", "qint8", "qint32", "quint4x2", "quint2x4",
};

static const struct {
    const char *prefix; /* class name without "Storage"/"Tensor" */
    unsigned size;
} torch_types[] = {
    {"Double", 8}, {"Float", 4}, {"Half", 2}, {"BFloat16", 2}, {"Long", 8},
    {"Int", 4}, {"Short", 2}, {"Char", 1}, {"Byte", 1}, {"Bool", 1},
    {"ComplexDouble", 16}, {"ComplexFloat", 8}, {"ComplexHalf", 4},
    {"QUInt8", 1}, {"QInt8", 1}, {"QInt32", 4}, {"QUInt4x2", 1},
    {"QUInt2x4", 1}, {"UInt16", 2}, {"UInt32", 4}, {"UInt64", 8},
    {"Float8_e4m3fn", 1}, {"Float8_e5m2", 1}, {"Float8_e4m3fnuz", 1},
    {"Float8_e5m2fnuz", 1},
};

/* torch.<T>Storage, torch.cuda.<T>Storage, torch.<T>Tensor … : the size of
 * T, or 0. */
static unsigned torch_class(const char *full, const char *suffix)
{
    const char *n;
    if (strncmp(full, "torch.cuda.", 11) == 0)
        n = full + 11;
    else if (strncmp(full, "torch.", 6) == 0)
        n = full + 6;
    else
        return 0;
    size_t len = strlen(n), sl = strlen(suffix);
    if (len <= sl || strcmp(n + len - sl, suffix) != 0 || strchr(n, '.'))
        return 0;
    for (size_t i = 0; i < sizeof torch_types / sizeof torch_types[0]; i++)
        if (strlen(torch_types[i].prefix) == len - sl &&
            strncmp(n, torch_types[i].prefix, len - sl) == 0)
            return torch_types[i].size;
    return 0;
}

unsigned mftc_scan_storage_elem(const char *canonical)
{
    if (strcmp(canonical, "torch.storage.UntypedStorage") == 0 ||
        strcmp(canonical, "torch.UntypedStorage") == 0)
        return 1;
    return torch_class(canonical, "Storage");
}

static int allowed(const char *full)
{
    for (size_t i = 0; i < sizeof allow_exact / sizeof allow_exact[0]; i++)
        if (strcmp(full, allow_exact[i]) == 0)
            return 1;
    if (torch_class(full, "Storage") || torch_class(full, "Tensor"))
        return 1;
    if (strncmp(full, "torch.", 6) == 0 && !strchr(full + 6, '.'))
        for (size_t i = 0; i < sizeof torch_dtypes / sizeof torch_dtypes[0]; i++)
            if (strcmp(full + 6, torch_dtypes[i]) == 0)
                return 1;
    /* numpy ≥ 1.25 dtype classes: numpy.dtypes.Float64DType … */
    if (strncmp(full, "numpy.dtypes.", 13) == 0) {
        size_t n = strlen(full);
        if (n > 18 && strcmp(full + n - 5, "DType") == 0 &&
            !strchr(full + 13, '.'))
            return 1;
    }
    return 0;
}

/* ------------------------------------------------------------ denylist */

/* Names off the denylist although their module is on it: harmless enough
 * to be only SUSPICIOUS (they appear in real checkpoints). */
static const char *const deny_exceptions[] = {
    "uuid.UUID", "uuid.SafeUUID", "io.BytesIO", "io.StringIO",
    "types.SimpleNamespace", "types.MappingProxyType",
    "logging.getLogger", "logging.Logger", "logging.RootLogger",
    "copyreg.__newobj__", "copyreg.__newobj_ex__",
    "platform.uname_result",
};

/* The union of the scanners' lists and the published gadgets (§2.2,
 * §3.2): a module covers its submodules and everything in it. */
static const struct {
    const char *name;
    const char *why;
} deny[] = {
    /* builtins that run code, import, reach attributes or make classes */
    {"builtins.eval", "runs Python code"},
    {"builtins.exec", "runs Python code"},
    {"builtins.compile", "compiles Python code"},
    {"builtins.execfile", "runs a Python file"},
    {"builtins.__import__", "imports any module"},
    {"builtins.__build_class__", "creates classes"},
    {"builtins.__loader__", "the import machinery"},
    {"builtins.__spec__", "the import machinery"},
    {"builtins.apply", "calls any callable"},
    {"builtins.breakpoint", "starts a debugger"},
    {"builtins.open", "opens files"},
    {"builtins.input", "reads the terminal"},
    {"builtins.raw_input", "reads the terminal"},
    {"builtins.reload", "re-imports modules"},
    {"builtins.getattr", "reaches any attribute (a universal trampoline)"},
    {"builtins.setattr", "sets attributes (monkey-patching)"},
    {"builtins.delattr", "deletes attributes"},
    {"builtins.vars", "exposes namespaces"},
    {"builtins.globals", "exposes the interpreter's globals"},
    {"builtins.locals", "exposes namespaces"},
    {"builtins.dir", "introspection"},
    {"builtins.type", "creates classes dynamically"},
    {"builtins.memoryview", "raw memory access"},
    {"builtins.help", "starts pydoc (pager, shell)"},
    {"builtins.exit", "exits the process"},
    {"builtins.quit", "exits the process"},
    {"builtins.copyright", "reads files"},
    {"builtins.credits", "reads files"},
    {"builtins.license", "reads files"},
    {"_sitebuiltins", "the interactive helpers (pydoc, files)"},
    /* processes, shells, FFI */
    {"os", "operating-system access (commands, files, processes)"},
    {"sys", "interpreter internals (modules, exit, paths)"},
    {"subprocess", "runs commands"},
    {"_posixsubprocess", "runs commands"},
    {"pty", "spawns a shell"},
    {"pexpect", "spawns processes"},
    {"pipes", "runs shell pipelines"},
    {"ctypes", "foreign function calls (native code)"},
    {"cffi", "foreign function calls (native code)"},
    {"mmap", "raw memory and file access"},
    {"multiprocessing", "starts processes"},
    {"concurrent", "starts processes and threads"},
    {"threading", "starts threads"},
    {"_thread", "starts threads"},
    {"signal", "signal handlers"},
    {"atexit", "runs code at exit"},
    {"faulthandler", "process control"},
    {"resource", "process limits"},
    {"fcntl", "file descriptors"},
    {"termios", "terminal control"},
    {"pwd", "reads the user database"},
    {"grp", "reads the group database"},
    {"spwd", "reads the shadow password database"},
    {"crypt", "password hashing"},
    {"asyncio", "event loop with subprocess and network access"},
    {"_osx_support", "runs commands (_read_output, _find_build_tool)"},
    {"_aix_support", "runs commands (_read_cmd_output)"},
    {"uuid", "runs commands (_get_command_stdout, _popen)"},
    {"imaplib", "network access; IMAP4_stream runs a command"},
    {"platform", "runs commands (popen)"},
    {"_interpreters", "runs code in a subinterpreter"},
    {"_xxsubinterpreters", "runs code in a subinterpreter"},
    {"interpreters", "runs code in a subinterpreter"},
    {"_interpqueues", "subinterpreters"},
    {"_interpchannels", "subinterpreters"},
    {"_pyrepl", "runs a pager command (pipe_pager)"},
    {"pydoc", "runs a pager command; locate imports anything"},
    {"webbrowser", "starts a browser (runs commands)"},
    {"shutil", "copies, moves and deletes files"},
    {"_winapi", "Windows process API"},
    {"msvcrt", "Windows C runtime"},
    {"winreg", "Windows registry"},
    {"_winreg", "Windows registry"},
    {"win32api", "Windows API"},
    {"win32process", "Windows processes"},
    /* code execution, import machinery, interpreters, debuggers */
    {"runpy", "runs Python code"},
    {"code", "runs Python code (InteractiveInterpreter)"},
    {"codeop", "compiles Python code"},
    {"types", "builds code objects and functions"},
    {"marshal", "loads code objects"},
    {"importlib", "imports any module"},
    {"_frozen_importlib", "imports any module"},
    {"_frozen_importlib_external", "imports any module"},
    {"_imp", "the import machinery"},
    {"imp", "imports any module"},
    {"zipimport", "imports code from archives"},
    {"pkgutil", "resolves any name (resolve_name: a universal trampoline)"},
    {"site", "runs .pth files"},
    {"gc", "reaches every object"},
    {"inspect", "reaches any attribute (getattr_static)"},
    {"operator", "attribute and item access, method calls (attrgetter, methodcaller)"},
    {"functools", "wraps callables (partial, reduce)"},
    {"pdb", "debugger: runs code"},
    {"bdb", "debugger: runs code"},
    {"trace", "runs code (Trace.run)"},
    {"profile", "runs code (run, runctx)"},
    {"cProfile", "runs code (run, runctx)"},
    {"timeit", "runs code"},
    {"doctest", "runs code (debug_script)"},
    {"unittest", "runs code"},
    {"test", "CPython's test helpers run interpreters"},
    {"idlelib", "runs code (IDLE's interpreter)"},
    {"lib2to3", "loads pickles and evaluates code"},
    {"turtledemo", "runs code"},
    {"tkinter", "GUI and Tcl interpreter"},
    {"_tkinter", "Tcl interpreter"},
    {"numpy.testing", "runs code (runstring)"},
    {"numpy.f2py", "evaluates code"},
    {"numpy.distutils", "runs commands"},
    {"numpy.ctypeslib", "loads native libraries"},
    {"numpy.load", "loads files (pickles with allow_pickle)"},
    {"numpy.lib.npyio", "loads files (pickles with allow_pickle)"},
    {"numpy.lib._npyio_impl", "loads files (pickles with allow_pickle)"},
    {"numpy.lib.format", "reads arrays (pickles with allow_pickle)"},
    {"numpy.fromfile", "reads files"},
    {"numpy.memmap", "maps files"},
    {"numpy.save", "writes files"},
    {"numpy.savez", "writes files"},
    {"numpy.savez_compressed", "writes files"},
    {"numpy.savetxt", "writes files"},
    {"numpy.loadtxt", "reads files"},
    {"numpy.genfromtxt", "reads files"},
    {"distutils", "runs commands and setup scripts"},
    {"setuptools", "runs commands and setup scripts"},
    {"_distutils_hack", "the import machinery"},
    {"ensurepip", "runs pip"},
    {"pip", "installs packages (runs setup code)"},
    {"venv", "creates environments (runs pip)"},
    {"logging", "creates files and network handlers; config can start processes"},
    /* nested deserialisation and loaders */
    {"pickle", "unpickles nested data (runs code)"},
    {"pickletools", "pickle internals"},
    {"_compat_pickle", "pickle internals"},
    {"copyreg", "changes how pickles are loaded"},
    {"shelve", "unpickles files"},
    {"dbm", "opens database files"},
    {"sqlite3", "opens database files"},
    {"dill", "unpickles code"},
    {"cloudpickle", "rebuilds functions from code"},
    {"joblib", "unpickles files"},
    {"yaml", "YAML loading can build Python objects"},
    {"jinja2", "template rendering runs code"},
    {"pandas.read_pickle", "unpickles files"},
    {"pandas.io", "reads files and URLs"},
    {"torch.load", "loads a nested checkpoint (pickle)"},
    {"torch.save", "writes files"},
    {"torch.serialization", "loads nested checkpoints"},
    {"torch.hub", "downloads and runs code"},
    {"torch.package", "imports packaged code"},
    {"torch.utils._config_module", "loads pickled configuration"},
    {"torch.utils.data.datapipes", "decodes pickles"},
    {"torch.utils.bottleneck", "runs code under a profiler"},
    {"torch.utils.collect_env", "runs commands"},
    {"torch.utils.cpp_extension", "compiles and loads native code"},
    {"torch.distributed.rpc", "remote calls"},
    {"torch.distributed.elastic", "runs processes"},
    {"torch._dynamo", "evaluates code (guards)"},
    {"torch._inductor", "compiles and runs code"},
    {"torch.jit", "compiles and runs TorchScript"},
    {"torch.compile", "compiles code"},
    {"torch.fx", "rebuilds modules from Python source (exec)"},
    {"torch._C", "native internals (JIT compilation, libraries)"},
    {"torch.ops", "loads native libraries"},
    {"torch.classes", "loads native libraries"},
    {"torch.library", "registers native operators"},
    {"torch.testing._internal", "runs code"},
    {"transformers.dynamic_module_utils", "downloads and runs remote code"},
    {"huggingface_hub", "downloads files"},
    /* network, files */
    {"socket", "network access"},
    {"ssl", "network access (get_server_certificate)"},
    {"http", "network access"},
    {"urllib", "network access"},
    {"urllib3", "network access"},
    {"requests", "network access"},
    {"aiohttp", "network access"},
    {"httpx", "network access"},
    {"smtplib", "network access (sends mail)"},
    {"smtpd", "network server"},
    {"ftplib", "network access"},
    {"poplib", "network access"},
    {"nntplib", "network access"},
    {"telnetlib", "network access"},
    {"xmlrpc", "network access"},
    {"socketserver", "network server"},
    {"select", "network and file descriptors"},
    {"selectors", "network and file descriptors"},
    {"asynchat", "network access"},
    {"asyncore", "network access"},
    {"wsgiref", "network server"},
    {"io", "opens files (FileIO, open)"},
    {"tempfile", "creates files"},
    {"tarfile", "reads and extracts archives"},
    {"zipfile", "reads and extracts archives"},
    {"fileinput", "reads files"},
    {"glob", "lists files"},
    {"filecmp", "reads files"},
    {"linecache", "reads files"},
    {"compileall", "compiles and writes files"},
    {"py_compile", "compiles and writes files"},
    {"syslog", "writes the system log"},
    {"pathlib.Path.write_text", "writes files"},
    {"pathlib.Path.write_bytes", "writes files"},
    {"pathlib.Path.touch", "creates files"},
    {"pathlib.Path.unlink", "deletes files"},
    /* decoding helpers that feed nested payloads */
    {"zlib", "decompression used to hide payloads"},
    {"bz2", "decompression used to hide payloads"},
    {"lzma", "decompression used to hide payloads"},
    {"gzip", "decompression used to hide payloads"},
    {"base64", "decoding used to hide payloads"},
    {"binascii", "decoding used to hide payloads"},
    {"codecs", "decoding used to hide payloads"},
    {"_codecs", "decoding used to hide payloads"},
    /* scanner deactivation */
    {"fickling", "scanner internals"},
    {"picklescan", "scanner internals"},
    {"modelscan", "scanner internals"},
    {"modelaudit", "scanner internals"},
    {"model_unpickler", "scanner internals"},
    {"saferpickle", "scanner internals"},
};

/* A Python identifier (ASCII rules; bytes ≥ 0x80 allowed: Unicode
 * identifiers). */
static int is_ident(const char *s, size_t n)
{
    if (!n || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c >= 0x80))
            return 0;
    }
    return 1;
}

static int is_dotted_ident(const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i <= n; i++)
        if (i == n || s[i] == '.') {
            if (!is_ident(s + start, i - start))
                return 0;
            start = i + 1;
        }
    return 1;
}

static int full_is(const char *full, const char *entry)
{
    return starts_module(full, strlen(full), entry);
}

int mftc_scan_policy(const char *module, size_t mlen, const char *name,
                     size_t nlen, const char *canonical, const char **why)
{
    *why = "";
    if (!is_dotted_ident(module, mlen) || !is_dotted_ident(name, nlen)) {
        *why = "not an importable name: the import fails in CPython";
        return MFTC_POLICY_BROKEN;
    }
    if (allowed(canonical))
        return MFTC_POLICY_SAFE;
    if (strcmp(canonical, "torch.storage._load_from_bytes") == 0) {
        *why = "runs torch.load on bytes held in the pickle (scanned as a "
               "nested file)";
        return MFTC_POLICY_NESTED;
    }
    if (memchr(name, '.', nlen)) {
        *why = "a dotted name walks attributes from the module (protocol "
               "4+), which can reach anything, e.g. a module alias";
        for (size_t i = 0; i < sizeof deny / sizeof deny[0]; i++)
            if (full_is(canonical, deny[i].name)) {
                *why = deny[i].why;
                break;
            }
        return MFTC_POLICY_DANGEROUS;
    }
    for (size_t i = 0; i < sizeof deny_exceptions / sizeof deny_exceptions[0]; i++)
        if (strcmp(canonical, deny_exceptions[i]) == 0) {
            *why = "not on the allowlist";
            return MFTC_POLICY_UNKNOWN;
        }
    for (size_t i = 0; i < sizeof deny / sizeof deny[0]; i++)
        if (full_is(canonical, deny[i].name)) {
            *why = deny[i].why;
            return MFTC_POLICY_DANGEROUS;
        }
    /* pandas.read_csv, read_html … open files and URLs */
    if (strncmp(canonical, "pandas.read_", 12) == 0) {
        *why = "reads files and URLs";
        return MFTC_POLICY_DANGEROUS;
    }
    if (strncmp(canonical, "__torch__.", 10) == 0)
        *why = "a TorchScript class: runs its compiled methods when loaded";
    else if (strncmp(canonical, "__main__.", 9) == 0)
        *why = "a class of the saving script: loading imports user code";
    else if (strncmp(canonical, "builtins.", 9) == 0)
        *why = "a builtin off the allowlist";
    else
        *why = "not on the allowlist: loading imports and may call it";
    return MFTC_POLICY_UNKNOWN;
}

unsigned mftc_scan_calls_args(const char *canonical)
{
    static const struct {
        const char *name;
        unsigned mask;
    } t[] = {
        {"torch._tensor._rebuild_from_type_v2", 0x3}, /* func(*args), type */
        {"torch._tensor._rebuild_from_type", 0x3},
        {"copyreg._reconstructor", 0x3},   /* base.__new__(cls) */
        {"collections.defaultdict", 0x1},  /* default_factory() */
        {"torch._utils._rebuild_wrapper_subclass", 0x1},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(canonical, t[i].name) == 0)
            return t[i].mask;
    return 0;
}
