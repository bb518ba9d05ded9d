/* Security scanning of model files (mft scan): internal pieces shared by
 * the files of src/scan. The public entry points are mft_scan_path/mft_scan_memory
 * in include/mft.h; shared/reference/pickle-security.md is the research
 * this follows (section numbers below refer to it).
 *
 * How it works:
 *  - every pickle stream is run on the data-only pickle machine with an
 *    observer (src/pickle/pickle.h), which reports each import, call,
 *    BUILD, container mutation and persistent id with its byte offset as
 *    it happens, so what ran before an error still counts;
 *  - each import is normalised (Python 2 names, implementation modules
 *    such as posix → os, _operator → operator) and judged by policy.c:
 *    SAFE only on the allowlist (torch's weights_only set plus numpy's
 *    array reconstruction), DANGEROUS on the denylist (with submodules) or
 *    when it cannot be resolved statically, SUSPICIOUS otherwise;
 *  - containers are walked by content, never by name: zip (every central
 *    directory entry, duplicates, nested zips, a local-header walk when the
 *    directory is broken), legacy torch streams and their storages, legacy
 *    tar checkpoints, .npy object arrays, pickles back to back, after junk
 *    or in front of a zip. */
#ifndef MFT_SCAN_SCAN_H
#define MFT_SCAN_SCAN_H

#include "../core/internal.h"

/* Classes of an import (policy.c). */
enum {
    MFTC_POLICY_SAFE = 0,      /* on the allowlist */
    MFTC_POLICY_UNKNOWN = 1,   /* off both lists: SUSPICIOUS */
    MFTC_POLICY_DANGEROUS = 2, /* on the denylist, or unresolvable */
    MFTC_POLICY_NESTED = 3,    /* torch.storage._load_from_bytes: its bytes
                                  are scanned; SUSPICIOUS by itself */
    MFTC_POLICY_BROKEN = 4     /* not an importable name: CPython fails */
};

/* The scanner's canonical spelling of module + "." + name into `out`
 * (cap bytes, NUL-terminated, truncated if need be): Python 2 names mapped
 * whatever the protocol, implementation modules folded into their public
 * module (posix/nt → os, posixpath/ntpath → os.path, _operator →
 * operator, _io → io, _pickle/cPickle → pickle, __builtin__/__builtins__ →
 * builtins, _socket → socket …). */
void mftc_scan_canonical(const char *module, size_t mlen, const char *name,
                         size_t nlen, char *out, size_t cap);

/* Judge an import given as it is looked up (py names) and canonically.
 * Returns an MFTC_POLICY_* class and, in *why, a static explanation. */
int mftc_scan_policy(const char *module, size_t mlen, const char *name,
                     size_t nlen, const char *canonical, const char **why);

/* Callables that call one of their arguments: for `canonical`, a bit mask
 * of the argument positions that must be plain globals (or None). */
unsigned mftc_scan_calls_args(const char *canonical);

/* Element size of a torch storage class given by its canonical name
 * (torch.FloatStorage → 4, torch.storage.UntypedStorage → 1); 0 when
 * unknown. */
unsigned mftc_scan_storage_elem(const char *canonical);

#endif
