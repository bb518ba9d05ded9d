/* The data-only pickle machine.
 *
 * Interprets every opcode of pickle protocols 0–5 the way CPython's
 * Unpickler does (stack, marks, memo, frames), except that nothing is ever
 * imported or called: GLOBAL, STACK_GLOBAL and INST give inert OBJECT values
 * naming the global; REDUCE, NEWOBJ, NEWOBJ_EX, OBJ and INST give inert call
 * objects (class/function name + arguments), BUILD records the state, and
 * persistent ids become MFTC_OBJ_PERSID objects for the format reader to
 * resolve. A fixed table of harmless constructors is interpreted as values:
 * collections.OrderedDict / defaultdict / Counter and builtins.dict → DICT,
 * builtins.set / frozenset → SET, builtins.list/tuple, bytes via
 * _codecs.encode(str, 'latin1'), builtins.bytes / bytearray, torch.Size →
 * TUPLE. Python-2 module and class names are mapped as CPython's
 * _compat_pickle does when the protocol is below 3.
 *
 * Every length is checked against the bytes left before anything is
 * allocated; the limits MFT_LIMIT_PICKLE_* bound nesting, memo entries and
 * the values created. Errors name the member and the byte offset. */
#ifndef MFT_PICKLE_H
#define MFT_PICKLE_H
#include "../core/internal.h"

typedef struct mftc_pickle_result {
    mft_value *root;   /* the value STOP returned */
    size_t used;       /* bytes consumed, up to and including STOP; after a
                          failure (mftc_pickle_load_ex): up to the opcode
                          that failed */
    int protocol;      /* highest PROTO seen (0 when none) */
    uint64_t n_globals;/* GLOBAL/STACK_GLOBAL/INST seen */
    uint64_t n_ops;    /* opcodes that ran without error (also on failure) */
    size_t leftover;   /* values and marks left below the result at STOP
                          (CPython ignores them; pickle.dump leaves none) */
    size_t memo_n;     /* memo entries at the end (MEMOIZE's next index) */
} mftc_pickle_result;

/* Run the machine over `len` bytes at `data`, whose first byte is at file
 * offset `origin` of `member` (NULL: the file itself). Values are allocated
 * in f's arena. On failure the handle's message says what and where. */
mft_status mftc_pickle_load(mft_file *f, const uint8_t *data, size_t len,
                            uint64_t origin, const char *member,
                            mftc_pickle_result *out);

/* The canonical, Python 3 name of a global: `module.name` after the
 * _compat_pickle mapping (applied when `protocol` < 3, like CPython). The
 * result lives in f's arena. */
const char *mftc_pickle_global_name(mft_file *f, const char *module,
                                    size_t mlen, const char *name, size_t nlen,
                                    int protocol);

/* The _compat_pickle mapping alone, module and name kept apart: *module
 * and *name are replaced (with static strings) when `protocol` < 3 and the
 * pair or the module is a Python 2 name, as CPython's find_class does. */
void mftc_pickle_compat(const char **module, size_t *mlen, const char **name,
                        size_t *nlen, int protocol);

/* ---- observing the machine (src/scan) ----
 *
 * With an observer, mftc_pickle_load_ex reports every import and call as
 * it happens, with its byte offset, so what ran before a later error is
 * known. The observer also makes the machine as lenient as CPython where
 * the reader would stop early but CPython would go on (and run what
 * follows): STACK_GLOBAL whose operands are computed objects (an opaque
 * global is pushed), EXT codes (same), container operations on values
 * that are not plain containers (no-ops), nesting depth, marks up to
 * 2^20, and BINUNICODE/UNICODE surrogates (CPython's surrogatepass; kept
 * as U+FFFD). Values are never called; events are read-only. */
typedef enum mftc_pickle_event_kind {
    MFTC_PEV_OP = 1,      /* an opcode ran: offset, end; a = the value it
                             pushed for string/bytes opcodes; code = FRAME
                             size for FRAME */
    MFTC_PEV_IMPORT,      /* GLOBAL, STACK_GLOBAL, INST: module and name as
                             in the pickle, py_* after _compat_pickle */
    MFTC_PEV_IMPORT_DYNAMIC, /* STACK_GLOBAL on operands that are not two
                             strings: a = module operand, b = name operand */
    MFTC_PEV_EXT,         /* EXT1/2/4: an import by extension code (code) */
    MFTC_PEV_CALL,        /* REDUCE, NEWOBJ(_EX), OBJ, INST: a = callee,
                             b = args (a TUPLE); code = MFTC_OBJ_CALL/NEW */
    MFTC_PEV_BUILD,       /* BUILD: a = target, b = state */
    MFTC_PEV_MUTATE,      /* APPEND(S), ADDITEMS, SETITEM(S) on a target
                             that is not a plain list/set/dict (a) */
    MFTC_PEV_PERSID       /* PERSID/BINPERSID: a = the id */
} mftc_pickle_event_kind;

typedef struct mftc_pickle_event {
    mftc_pickle_event_kind kind;
    uint8_t op;          /* the opcode */
    uint64_t offset;     /* file offset of the opcode (origin-based) */
    uint64_t end;        /* MFTC_PEV_OP: offset just past its argument */
    int protocol;        /* the protocol in force */
    const char *module, *name;       /* IMPORT: raw */
    size_t module_len, name_len;
    const char *py_module, *py_name; /* IMPORT: after _compat_pickle */
    size_t py_module_len, py_name_len;
    const mft_value *a, *b;
    uint64_t code;
} mftc_pickle_event;

typedef struct mftc_pickle_observer {
    void (*event)(void *user, const mftc_pickle_event *ev);
    void *user;
    /* Read like CPython's C unpickler over a file object without peek()
     * (torch reads data.pkl from a BytesIO): a read that runs past the end
     * of the current FRAME drops the rest of the frame and takes its bytes
     * from the frame's end. 0: like pickle.loads on bytes (linear). */
    int file_frames;
} mftc_pickle_observer;

/* mftc_pickle_load with an observer (NULL: exactly mftc_pickle_load).
 * `out` is filled on failure too (used, protocol, n_globals, n_ops). */
mft_status mftc_pickle_load_ex(mft_file *f, const uint8_t *data, size_t len,
                               uint64_t origin, const char *member,
                               const mftc_pickle_observer *obs,
                               mftc_pickle_result *out);
#endif
