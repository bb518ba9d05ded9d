/* Status text and the per-handle message. */
#include "internal.h"
#include <stdio.h>
#include <string.h>

const char *mft_strerror(int status)
{
    switch (status) {
    case MFT_OK: return "success";
    case MFT_ERR_IO: return "input/output error";
    case MFT_ERR_NOMEM: return "out of memory";
    case MFT_ERR_FORMAT: return "unrecognised file format";
    case MFT_ERR_CORRUPT: return "malformed or truncated input";
    case MFT_ERR_LIMIT: return "input exceeds a limit";
    case MFT_ERR_UNSUPPORTED: return "unsupported feature";
    case MFT_ERR_NOT_FOUND: return "not found";
    case MFT_ERR_MISUSE: return "invalid argument";
    case MFT_ERR_EXISTS: return "output already exists";
    case MFT_ERR_DTYPE: return "dtype not representable";
    case MFT_ERR_MISMATCH: return "parts of a file set disagree";
    default: return "unknown status";
    }
}

const char *mft_errname(int status)
{
    switch (status) {
    case MFT_OK: return "MFT_OK";
    case MFT_ERR_IO: return "MFT_ERR_IO";
    case MFT_ERR_NOMEM: return "MFT_ERR_NOMEM";
    case MFT_ERR_FORMAT: return "MFT_ERR_FORMAT";
    case MFT_ERR_CORRUPT: return "MFT_ERR_CORRUPT";
    case MFT_ERR_LIMIT: return "MFT_ERR_LIMIT";
    case MFT_ERR_UNSUPPORTED: return "MFT_ERR_UNSUPPORTED";
    case MFT_ERR_NOT_FOUND: return "MFT_ERR_NOT_FOUND";
    case MFT_ERR_MISUSE: return "MFT_ERR_MISUSE";
    case MFT_ERR_EXISTS: return "MFT_ERR_EXISTS";
    case MFT_ERR_DTYPE: return "MFT_ERR_DTYPE";
    case MFT_ERR_MISMATCH: return "MFT_ERR_MISMATCH";
    default: return "MFT_ERR_UNKNOWN";
    }
}

mft_status mftc_vfail(mft_file *f, mft_status code, const char *member,
                      int64_t offset, const char *fmt, va_list ap)
{
    if (!f)
        return code;
    char *out = f->errmsg;
    size_t cap = sizeof f->errmsg, n = 0;
    int w = snprintf(out, cap, "%s: ", f->path ? f->path : "(memory)");
    n = w > 0 ? (size_t)w : 0;
    if (member && n < cap) {
        w = snprintf(out + n, cap - n, "%s: ", member);
        n += w > 0 ? (size_t)w : 0;
    }
    if (n < cap) {
        w = vsnprintf(out + n, cap - n, fmt, ap);
        n += w > 0 ? (size_t)w : 0;
    }
    if (offset >= 0 && n < cap)
        snprintf(out + n, cap - n, " (at byte %lld)", (long long)offset);
    return code;
}

mft_status mftc_fail(mft_file *f, mft_status code, const char *member,
                     int64_t offset, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mftc_vfail(f, code, member, offset, fmt, ap);
    va_end(ap);
    return code;
}

void mftc_hex_prefix(const uint8_t *p, size_t n, char *out, size_t cap)
{
    size_t k = n < 8 ? n : 8, used = 0;
    out[0] = 0;
    for (size_t i = 0; i < k && used + 4 < cap; i++)
        used += (size_t)snprintf(out + used, cap - used, i ? " %02x" : "%02x",
                                 p[i]);
}

size_t mftc_json_escape(const char *s, size_t n, char *out, size_t cap)
{
    size_t k = 0;
#define PUT(ch)                                                               \
    do {                                                                      \
        if (k < cap)                                                          \
            out[k] = (char)(ch);                                              \
        k++;                                                                  \
    } while (0)
    PUT('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': PUT('\\'); PUT('"'); break;
        case '\\': PUT('\\'); PUT('\\'); break;
        case '\n': PUT('\\'); PUT('n'); break;
        case '\r': PUT('\\'); PUT('r'); break;
        case '\t': PUT('\\'); PUT('t'); break;
        case '\b': PUT('\\'); PUT('b'); break;
        case '\f': PUT('\\'); PUT('f'); break;
        default:
            if (c < 0x20) {
                static const char hex[] = "0123456789abcdef";
                PUT('\\'); PUT('u'); PUT('0'); PUT('0');
                PUT(hex[c >> 4]); PUT(hex[c & 15]);
            } else {
                PUT(c);
            }
        }
    }
    PUT('"');
#undef PUT
    return k;
}
