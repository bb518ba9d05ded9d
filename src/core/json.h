/* A strict JSON parser for headers and indexes (RFC 8259). Why our own and
 * not cJSON: headers carry 64-bit offsets that must be exact (cJSON keeps
 * numbers as doubles), duplicate keys must be refused (cJSON keeps both
 * silently), every error must name its byte offset, and cJSON reports errors
 * through a process-global pointer, which breaks concurrent handles.
 * The tree lives in an arena; every node records its file offset. */
#ifndef MFT_CORE_JSON_H
#define MFT_CORE_JSON_H
#include "internal.h"

typedef enum mftc_json_type {
    MFTC_JSON_NULL,
    MFTC_JSON_BOOL,
    MFTC_JSON_NUMBER,
    MFTC_JSON_STRING,
    MFTC_JSON_ARRAY,
    MFTC_JSON_OBJECT
} mftc_json_type;

typedef struct mftc_json mftc_json;
typedef struct mftc_json_member mftc_json_member;

struct mftc_json {
    mftc_json_type type;
    uint64_t offset; /* file offset of the value's first byte */
    union {
        int b;
        struct {
            uint64_t mag;  /* |value| when is_int */
            int neg;       /* a leading minus sign */
            int is_int;    /* integer literal whose magnitude fits u64 */
            double d;      /* the value as a double, always */
        } num;
        struct {
            const char *p; /* unescaped, NUL-terminated copy */
            size_t n;      /* bytes, may include NUL from \u0000 */
        } str;
        struct {
            mftc_json_member *m; /* arrays use only .value */
            size_t n;
        } kids;
    } u;
};

struct mftc_json_member {
    const char *key; /* NULL in arrays */
    size_t key_len;
    uint64_t key_offset;
    mftc_json value;
};

typedef struct mftc_json_error {
    char msg[256];
    uint64_t offset;
    int nomem;
} mftc_json_error;

/* Parse `len` bytes at `p` (whose first byte is at file offset `origin`) as
 * one JSON value surrounded by optional whitespace. Objects with a repeated
 * key are errors. Returns the root, or NULL with *err filled. The input need
 * not be NUL-terminated and must already be valid UTF-8. */
mftc_json *mftc_json_parse(mftc_arena *a, const char *p, size_t len,
                           uint64_t origin, unsigned max_depth,
                           mftc_json_error *err);

/* First invalid byte of a UTF-8 buffer, or `len` when it is all valid
 * (overlong forms, surrogates and code points past U+10FFFF are invalid). */
size_t mftc_utf8_check(const uint8_t *p, size_t len);

/* Member of an object by key, NULL if absent or not an object. */
const mftc_json *mftc_json_get(const mftc_json *obj, const char *key);
#endif
