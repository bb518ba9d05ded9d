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
    size_t used;       /* bytes consumed, up to and including STOP */
    int protocol;      /* highest PROTO seen (0 when none) */
    uint64_t n_globals;/* GLOBAL/STACK_GLOBAL/INST seen */
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
#endif
