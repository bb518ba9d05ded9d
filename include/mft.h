/*
 * mft.h — the public API of libmft, the model-file toolkit.
 *
 * libmft opens deep-learning model files (safetensors today; PyTorch, GGUF,
 * NumPy, ONNX … as they land), lists their tensors zero-copy from a memory
 * mapping, exposes their non-tensor content as a read-only value tree, and
 * writes new files through a streaming, atomic writer. It never executes
 * anything a file contains.
 *
 * Conventions, valid for every function below:
 *  - Functions that can fail return an mft_status. MFT_OK is 0; every other
 *    value is pinned and never renumbered. mft_strerror() gives fixed text for
 *    a code; the handle's mft_file_errmsg()/mft_writer_errmsg() gives the
 *    detailed message of the last failure on that handle, naming the file,
 *    the member, what was wrong and the byte offset where it applies.
 *  - Strings and arrays returned through a handle are borrowed: they stay
 *    valid until the handle is closed, unless a comment says otherwise.
 *  - Every close and free function accepts NULL.
 *  - There is no global mutable state: different handles may be used from
 *    different threads at the same time; one handle must not be used from two
 *    threads at once (read-only getters excepted, noted where they apply).
 *  - Sizes are 64-bit; no file size is limited by the API.
 */
#ifndef MFT_H
#define MFT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && !defined(MFT_STATIC)
#define MFT_API __attribute__((visibility("default")))
#else
#define MFT_API
#endif

/* ---------------------------------------------------------------- version */

#define MFT_VERSION_MAJOR 0
#define MFT_VERSION_MINOR 1
#define MFT_VERSION_PATCH 0
#define MFT_VERSION_STRING "0.1.0"
#define MFT_VERSION_NUMBER \
    (MFT_VERSION_MAJOR * 10000 + MFT_VERSION_MINOR * 100 + MFT_VERSION_PATCH)

/* The version of the library actually linked (compare with the macros). */
MFT_API const char *mft_version(void);
MFT_API int mft_version_number(void);

/* ---------------------------------------------------------------- status */

/* Status codes. Values are pinned: they are part of the ABI. */
typedef enum mft_status {
    MFT_OK = 0,
    MFT_ERR_IO = 1,          /* the file system said no: open, read, write, rename */
    MFT_ERR_NOMEM = 2,       /* an allocation failed */
    MFT_ERR_FORMAT = 3,      /* the bytes are not a format mft knows */
    MFT_ERR_CORRUPT = 4,     /* a known format, but malformed or truncated */
    MFT_ERR_LIMIT = 5,       /* the input exceeds a limit (see mft_limit) */
    MFT_ERR_UNSUPPORTED = 6, /* well formed, but a feature mft does not handle */
    MFT_ERR_NOT_FOUND = 7,   /* no tensor, value or key by that name */
    MFT_ERR_MISUSE = 8,      /* the caller passed an invalid argument */
    MFT_ERR_EXISTS = 9,      /* the output exists and overwriting was not allowed */
    MFT_ERR_DTYPE = 10,      /* a dtype the operation or target cannot hold */
    MFT_ERR_MISMATCH = 11    /* parts of a multi-file set disagree */
} mft_status;

/* Fixed English text for a status code ("malformed input" …); never NULL. */
MFT_API const char *mft_strerror(int status);
/* The code's name ("MFT_ERR_CORRUPT"), for logs and tests; never NULL. */
MFT_API const char *mft_errname(int status);

/* ---------------------------------------------------------------- dtypes */

/* Element types. Names follow safetensors' spelling (mft_dtype_name).
 * Values are pinned. Sub-byte types (F4, I4, U4, I2, U2) are stored packed,
 * two (or four) per byte, low bits first. */
typedef enum mft_dtype {
    MFT_DTYPE_INVALID = 0,
    MFT_BOOL = 1,
    MFT_U8 = 2,
    MFT_I8 = 3,
    MFT_U16 = 4,
    MFT_I16 = 5,
    MFT_U32 = 6,
    MFT_I32 = 7,
    MFT_U64 = 8,
    MFT_I64 = 9,
    MFT_F16 = 10,
    MFT_BF16 = 11,
    MFT_F32 = 12,
    MFT_F64 = 13,
    MFT_C32 = 14,  /* complex of two F16 */
    MFT_C64 = 15,  /* complex of two F32 */
    MFT_C128 = 16, /* complex of two F64 */
    MFT_F8_E4M3 = 17,     /* OCP E4M3 "fn": no Inf, NaN = S.1111.111 */
    MFT_F8_E5M2 = 18,     /* IEEE-like E5M2 with Inf and NaN */
    MFT_F8_E4M3FNUZ = 19, /* AMD: bias 8, no Inf, NaN = 0x80, no -0 */
    MFT_F8_E5M2FNUZ = 20, /* AMD: bias 16, no Inf, NaN = 0x80, no -0 */
    MFT_F8_E8M0 = 21,     /* MX scale: 2^(e-127), 0xFF = NaN */
    MFT_F4 = 22,          /* FP4 E2M1, packed two per byte */
    MFT_F6_E2M3 = 23,     /* MXFP6, packed (bit stream) */
    MFT_F6_E3M2 = 24,
    MFT_I4 = 25,
    MFT_U4 = 26,
    MFT_I2 = 27,
    MFT_U2 = 28,
    MFT_STRING = 29,      /* variable-length strings (see DESIGN.md §3) */
    /* ggml's block-quantized types (GGUF), named as ggml names them. Their
     * elements come in blocks (mft_dtype_block): a tensor's numel counts
     * elements, its nbytes whole blocks, its digest the raw blocks. */
    MFT_Q4_0 = 30,
    MFT_Q4_1 = 31,
    MFT_Q5_0 = 32,
    MFT_Q5_1 = 33,
    MFT_Q8_0 = 34,
    MFT_Q8_1 = 35,
    MFT_Q2_K = 36,
    MFT_Q3_K = 37,
    MFT_Q4_K = 38,
    MFT_Q5_K = 39,
    MFT_Q6_K = 40,
    MFT_Q8_K = 41,
    MFT_IQ2_XXS = 42,
    MFT_IQ2_XS = 43,
    MFT_IQ3_XXS = 44,
    MFT_IQ1_S = 45,
    MFT_IQ4_NL = 46,
    MFT_IQ3_S = 47,
    MFT_IQ2_S = 48,
    MFT_IQ4_XS = 49,
    MFT_IQ1_M = 50,
    MFT_TQ1_0 = 51,
    MFT_TQ2_0 = 52,
    MFT_MXFP4 = 53,
    MFT_NVFP4 = 54,
    MFT_Q1_0 = 55,
    MFT_Q2_0 = 56,
    /* torch's affine-quantized integers: digests over the stored integers;
     * scale/zero point in mft_tensor.quant */
    MFT_QI8 = 57,
    MFT_QU8 = 58,
    MFT_QI32 = 59,
    MFT_DTYPE_COUNT_ = 60 /* one past the last valid value */
} mft_dtype;

/* "F32", "BF16" …; "INVALID" for an unknown value. Never NULL. */
MFT_API const char *mft_dtype_name(mft_dtype dtype);
/* The dtype named `name` (exact, case-sensitive), MFT_DTYPE_INVALID if none. */
MFT_API mft_dtype mft_dtype_from_name(const char *name);
/* Bits per element (BOOL: 8, F4: 4, F6_*: 6); 0 for STRING, INVALID and
 * the block types (whose elements have no whole-bit size: see below). */
MFT_API unsigned mft_dtype_bits(mft_dtype dtype);
/* Block geometry: every dtype stores its elements in blocks of
 * *elems_per_block elements taking *bytes_per_block bytes (plain types: 1
 * element of bits/8 bytes; sub-byte types: 8 elements of `bits` bytes;
 * Q4_0: 32 elements in 18 bytes, Q4_K: 256 in 144 …, ggml's table). Returns
 * 1 for a block-quantized type, 0 for any other valid dtype, and -1 (outputs
 * set to 0) for STRING, INVALID or an unknown value. Either pointer may be
 * NULL. */
MFT_API int mft_dtype_block(mft_dtype dtype, unsigned *elems_per_block,
                            unsigned *bytes_per_block);
/* 1 when the type is a real or complex floating type (F8 … F64, C32 … C128). */
MFT_API int mft_dtype_is_float(mft_dtype dtype);
MFT_API int mft_dtype_is_complex(mft_dtype dtype);
/* Rank in the safetensors writer's order: the reference writer sorts tensors
 * by its Dtype enum in descending declaration order (not by size), then by
 * name. Higher ranks are written first; every dtype has a distinct rank. */
MFT_API unsigned mft_dtype_alignment(mft_dtype dtype);

/* Decode `count` elements of `dtype` stored little-endian at `src` into
 * doubles. Complex types give two doubles (re, im) per element. Sub-byte types
 * start at the first element of `src`'s first byte. Every integer, float and
 * F8/F4 type is supported; STRING, F6 and the block-quantized types
 * (Q4_0 …) are MFT_ERR_DTYPE. */
MFT_API mft_status mft_dtype_to_f64(mft_dtype dtype, const void *src,
                                    double *dst, size_t count);
/* Encode doubles into `dtype`, rounding to nearest, ties to even, as torch and
 * numpy/ml_dtypes do. NaN stays NaN; values beyond the range become Inf where
 * the type has one, NaN for the E4M3/FNUZ types, and saturate for F4
 * (E2M1 has neither) — bit for bit as ml_dtypes; F6 and the block types
 * are MFT_ERR_DTYPE. Integer
 * targets truncate toward zero and wrap like a C cast of an in-range value;
 * out-of-range or NaN values give 0. */
MFT_API mft_status mft_dtype_from_f64(mft_dtype dtype, const double *src,
                                      void *dst, size_t count);

/* ---------------------------------------------------------------- formats */

typedef enum mft_format {
    MFT_FORMAT_UNKNOWN = 0,
    MFT_FORMAT_SAFETENSORS = 1,
    MFT_FORMAT_SAFETENSORS_INDEX = 2,
    MFT_FORMAT_PYTORCH_ZIP = 3,
    MFT_FORMAT_PYTORCH_LEGACY = 4,
    MFT_FORMAT_TORCHSCRIPT = 5,
    MFT_FORMAT_PICKLE = 6,
    MFT_FORMAT_GGUF = 7,
    MFT_FORMAT_NPY = 8,
    MFT_FORMAT_NPZ = 9,
    MFT_FORMAT_ONNX = 10,
    MFT_FORMAT_HDF5 = 11,
    MFT_FORMAT_KERAS = 12,
    MFT_FORMAT_TF_CHECKPOINT = 13,
    MFT_FORMAT_TF_SAVEDMODEL = 14,
    MFT_FORMAT_TF_GRAPHDEF = 15,
    MFT_FORMAT_TFLITE = 16,
    MFT_FORMAT_TENSORRT = 17,
    MFT_FORMAT_PYTORCH_EXPORT = 18,
    MFT_FORMAT_COUNT_ = 19
} mft_format;

/* The format's contract name ("safetensors", "pytorch-zip" …). */
MFT_API const char *mft_format_name(mft_format format);
MFT_API mft_format mft_format_from_name(const char *name);

/* Guess the format from the first bytes of a file (at least 64 recommended;
 * any length is accepted). Content only: the name plays no part. */
MFT_API mft_format mft_detect(const void *head, size_t len);

/* ---------------------------------------------------------------- limits */

/* Limits on what a reader accepts from a file; defaults are in
 * src/core/limits.h. Lowering one makes a handle refuse larger inputs with
 * MFT_ERR_LIMIT; raising one above its compiled maximum is MFT_ERR_MISUSE. */
typedef enum mft_limit {
    MFT_LIMIT_HEADER_BYTES = 0, /* a format's header/index (safetensors JSON) */
    MFT_LIMIT_TENSORS = 1,      /* tensors in one file */
    MFT_LIMIT_DIMS = 2,         /* dimensions of one tensor */
    MFT_LIMIT_NAME_BYTES = 3,   /* bytes in one tensor name or key */
    MFT_LIMIT_JSON_DEPTH = 4,   /* nesting of JSON headers, GGUF arrays */
    MFT_LIMIT_SHARDS = 5,       /* files in a sharded set */
    MFT_LIMIT_PICKLE_DEPTH = 6, /* nesting of marks/containers in a pickle */
    MFT_LIMIT_PICKLE_MEMO = 7,  /* memo entries of one pickle */
    MFT_LIMIT_PICKLE_ITEMS = 8, /* values one pickle may create in total */
    MFT_LIMIT_ZIP_ENTRIES = 9,  /* members of one zip archive */
    MFT_LIMIT_INFLATE_BYTES = 10, /* bytes one compressed member may expand to */
    MFT_LIMIT_STRING_BYTES = 11,  /* one string/bytes value (pickle, GGUF) */
    MFT_LIMIT_ARRAY_ITEMS = 12,   /* array items in one file's GGUF metadata */
    MFT_LIMIT_COUNT_ = 13
} mft_limit;

/* ---------------------------------------------------------------- files */

typedef struct mft_file mft_file;

typedef struct mft_open_options {
    /* Lowered limits: a value of 0 keeps the default. Index by mft_limit. */
    uint64_t limits[MFT_LIMIT_COUNT_];
    /* Read the whole file into memory instead of mapping it (for files on
     * file systems that cannot be mapped, or when the caller wants to rewrite
     * the file while the handle is open). */
    int no_mmap;
} mft_open_options;

/* Open a model file (or an HF `*.index.json` of a sharded set) and validate
 * its header/index. Only headers are read; tensor bytes are mapped, not
 * copied. `opts` may be NULL for defaults.
 * On success *out is the handle. On failure the return value says why and
 * *out is still a handle (to be closed) whose mft_file_errmsg() explains it —
 * or NULL when even that could not be allocated. */
MFT_API mft_status mft_open(const char *path, const mft_open_options *opts,
                            mft_file **out);
/* Same, from a caller-owned buffer that must outlive the handle. `name` is
 * used in messages only (may be NULL). Multi-file sets cannot be opened so. */
MFT_API mft_status mft_open_memory(const void *data, size_t len,
                                   const char *name,
                                   const mft_open_options *opts,
                                   mft_file **out);
MFT_API void mft_close(mft_file *file);

/* The detailed message of the last failure on this handle ("" if none).
 * Borrowed; valid until the next call on the handle. */
MFT_API const char *mft_file_errmsg(const mft_file *file);
MFT_API mft_format mft_file_format(const mft_file *file);
/* The path (or name) the handle was opened with. */
MFT_API const char *mft_file_path(const mft_file *file);

/* ---------------------------------------------------------------- tensors */

#define MFT_MAX_DIMS 64

/* A tensor as stored. Everything it points to is borrowed from the handle. */
typedef struct mft_tensor {
    const char *name;       /* its path (DESIGN.md §3), unique in the file */
    mft_dtype dtype;
    int ndim;               /* 0 for a scalar */
    const uint64_t *shape;  /* ndim extents, outermost first (numpy order;
                               GGUF: ggml's ne[] reversed, n_dims = ndim) */
    const int64_t *strides; /* ndim element strides (row-major when contiguous) */
    uint64_t numel;         /* product of shape (1 for a scalar) */
    uint64_t nbytes;        /* numel × element size, rounded up to bytes */
    /* The elements, row-major little-endian, borrowed from the mapping; NULL
     * when they are not stored so (use mft_tensor_read then). Not necessarily
     * aligned to the element size: files from some writers are not. */
    const void *data;
    /* Where the bytes live: the member (shard file, zip member) or NULL for
     * the main file, and the byte offset in it. */
    const char *member;
    uint64_t offset;
    /* Affine quantization (QI8, QU8, QI32): value = (q - zero_point) ×
     * scale, per tensor (quant_count 1, quant_axis -1) or per channel along
     * quant_axis. quant_count 0 for other tensors. */
    size_t quant_count;
    const double *quant_scale;
    const int64_t *quant_zero_point;
    int quant_axis;
    /* NULL for a dense tensor; "sparse_coo", "sparse_csr" … for layouts
     * whose values are not exposed as one array (no data, no digest). */
    const char *kind;
} mft_tensor;

MFT_API size_t mft_tensor_count(const mft_file *file);
/* Fill *out with tensor number `index` (0 ≤ index < count), in file order. */
MFT_API mft_status mft_tensor_at(mft_file *file, size_t index, mft_tensor *out);
/* Find a tensor by exact path; MFT_ERR_NOT_FOUND if none. *index may be NULL. */
MFT_API mft_status mft_tensor_find(mft_file *file, const char *name,
                                   size_t *index);
/* Copy the tensor's elements, row-major little-endian, into `dst`, which must
 * hold nbytes. Works for every tensor, contiguous or not. */
MFT_API mft_status mft_tensor_read(mft_file *file, size_t index, void *dst,
                                   uint64_t dst_size);
/* Call `sink` with consecutive chunks of the tensor's row-major little-endian
 * bytes (zero-copy when they are stored so). A non-zero return from `sink`
 * stops the walk and is returned as MFT_ERR_MISUSE. */
typedef int (*mft_bytes_sink)(void *user, const void *bytes, size_t len);
MFT_API mft_status mft_tensor_stream(mft_file *file, size_t index,
                                     mft_bytes_sink sink, void *user);
/* SHA-256 of the tensor's elements (DESIGN.md §3 "Tensor digest"). Safe to
 * call from several threads on one handle at once. */
MFT_API mft_status mft_tensor_sha256(mft_file *file, size_t index,
                                     unsigned char digest[32]);

/* ---------------------------------------------------------------- stats */

/* Statistics of a tensor's values, computed in one pass over its bytes
 * (src/ops/stats.c states the numerics): every value is taken exactly into
 * double; NaN and ±Inf are counted and left out of min, max, mean and std
 * (as torch computes them over t[torch.isfinite(t)]); the mean and the sum
 * of squared deviations accumulate blockwise with pairwise (Chan) merges, so
 * they are as accurate as numpy's float64 pairwise sums. Quantized QI8/QU8/
 * QI32 tensors: the dequantized values. Complex tensors: only the NaN, Inf
 * and zero counts (min … std are NaN). Results do not depend on the number
 * of threads. */
typedef struct mft_stats {
    /* MFT_OK, or why this tensor has no statistics: MFT_ERR_DTYPE (STRING,
     * F6_*, block-quantized types), MFT_ERR_UNSUPPORTED (a sparse layout),
     * or the error that stopped reading its bytes. */
    mft_status status;
    uint64_t numel;
    uint64_t count;  /* finite elements: those min … std describe */
    uint64_t nan;    /* NaN elements (complex: either part NaN) */
    uint64_t inf;    /* +Inf and -Inf elements */
    uint64_t zeros;  /* elements equal to zero, -0.0 included */
    double min, max; /* NaN when count is 0 */
    double mean;     /* NaN when count is 0 */
    double std;      /* sample standard deviation, sqrt(m2 / (count - 1)),
                        as torch.std (Bessel-corrected); NaN if count < 2 */
    double m2;       /* sum of squared deviations from the mean */
    /* Integer tensors (BOOL, U8 … I64, I4 …): 1 when imin/imax hold the
     * exact extremes, 2 when umin/umax do (U64); 0 for float tensors. */
    int integer;
    int64_t imin, imax;
    uint64_t umin, umax;
} mft_stats;

/* Progress report: `done` of `total` bytes. */
typedef void (*mft_progress_fn)(void *user, uint64_t done, uint64_t total);

typedef struct mft_stats_options {
    unsigned threads;         /* worker threads; 0: one per online core */
    /* NULL, or called about ten times a second from the calling thread
     * (which then only reports, while `threads` workers compute) */
    mft_progress_fn progress;
    void *user;
} mft_stats_options;

/* Statistics of tensor `index` on the calling thread. Safe to call from
 * several threads on one handle at once. A tensor without statistics
 * returns its out->status (with a message on the handle). */
MFT_API mft_status mft_tensor_stats(mft_file *file, size_t index,
                                    mft_stats *out);
/* Statistics of `count` tensors (indices NULL: all tensors, count must be
 * mft_tensor_count) into out[0 … count-1], on several threads: large tensors
 * in flat memory are split into 16 MiB units, so one big tensor uses every
 * thread. Memory stays flat: pages of the mapping are released once read.
 * Tensors without statistics only get their out[i].status; the return value
 * is MFT_OK unless reading some tensor failed (that tensor's status). */
MFT_API mft_status mft_stats_many(mft_file *file, const size_t *indices,
                                  size_t count, const mft_stats_options *opts,
                                  mft_stats *out);

/* Element-wise comparison of two tensors of the same element count (shapes
 * are the caller's to compare), with torch.isclose's rule: a and b are close
 * when a == b (so equal infinities are), or both are NaN and equal_nan is
 * set, or |a - b| is finite and |a - b| <= atol + rtol * |b|. Values are
 * compared as doubles (exact for every dtype but I64/U64 beyond 2^53);
 * complex values by their complex modulus; quantized ones dequantized. */
typedef struct mft_compare_options {
    double rtol, atol; /* torch's defaults: 1e-5 and 1e-8 */
    int equal_nan;
} mft_compare_options;

typedef struct mft_compare {
    uint64_t numel;
    uint64_t mismatched;   /* elements that are not close */
    uint64_t nan_mismatch; /* of those, elements where a NaN is involved */
    /* Greatest |a - b| and |a - b| / |b| over the elements where neither is
     * NaN (0 where a == b; Inf where an Inf meets anything else, and for the
     * relative difference where b is 0 and a is not), with the row-major
     * index of the first element reaching it. */
    double max_abs, max_rel;
    uint64_t max_abs_at, max_rel_at;
    int identical;         /* same dtype and byte-for-byte the same values */
} mft_compare;

/* Compare tensor `ia` of `a` with tensor `ib` of `b` (`b` is the reference,
 * as torch.allclose's `other`). opts NULL: torch's defaults. A different
 * element count is MFT_ERR_MISMATCH; a dtype without values (STRING, block
 * types, sparse) or a complex/real pair is MFT_ERR_DTYPE. Safe to call from
 * several threads at once. */
MFT_API mft_status mft_tensor_compare(mft_file *a, size_t ia, mft_file *b,
                                      size_t ib,
                                      const mft_compare_options *opts,
                                      mft_compare *out);

/* ---------------------------------------------------------------- values */

/* The non-tensor content of a file, as an immutable tree owned by the file. */
typedef struct mft_value mft_value;

typedef enum mft_value_kind {
    MFT_VALUE_NONE = 0,
    MFT_VALUE_BOOL = 1,
    MFT_VALUE_INT = 2,    /* fits int64_t */
    MFT_VALUE_BIGINT = 3, /* larger: little-endian two's complement bytes */
    MFT_VALUE_FLOAT = 4,
    MFT_VALUE_STRING = 5, /* UTF-8, may contain NUL: use the length */
    MFT_VALUE_BYTES = 6,
    MFT_VALUE_LIST = 7,
    MFT_VALUE_TUPLE = 8,
    MFT_VALUE_DICT = 9,   /* ordered; keys may be any value */
    MFT_VALUE_TENSOR = 10,
    MFT_VALUE_OBJECT = 11, /* an inert object: class name + state value */
    MFT_VALUE_SET = 12     /* a set or frozenset: items as a list, in order */
} mft_value_kind;

/* The root of the file's value tree (never NULL for an open file). For a
 * safetensors file: a dict of tensor name → tensor, in file order. */
MFT_API const mft_value *mft_file_root(const mft_file *file);
/* File-level metadata (safetensors __metadata__, GGUF key/values …) as a
 * dict; NULL when the file has no metadata section at all, an empty dict
 * when it has an empty one (the distinction keeps rewrites byte-exact). */
MFT_API const mft_value *mft_file_metadata(const mft_file *file);

MFT_API mft_value_kind mft_value_get_kind(const mft_value *v);
MFT_API int mft_value_bool(const mft_value *v);
MFT_API int64_t mft_value_int(const mft_value *v);
MFT_API double mft_value_float(const mft_value *v);
/* STRING, BYTES and BIGINT payloads; *len receives the byte count. */
MFT_API const char *mft_value_bytes(const mft_value *v, size_t *len);
/* Number of items in a LIST, TUPLE or DICT; 0 otherwise. */
MFT_API size_t mft_value_len(const mft_value *v);
/* Item i of a LIST or TUPLE, value i of a DICT. NULL when out of range. */
MFT_API const mft_value *mft_value_item(const mft_value *v, size_t i);
/* Key i of a DICT. NULL when out of range or not a dict. */
MFT_API const mft_value *mft_value_key(const mft_value *v, size_t i);
/* A DICT's value for the string key `key`, NULL if absent. */
MFT_API const mft_value *mft_value_lookup(const mft_value *v, const char *key);
/* The value at `path` below `v` (DESIGN.md §3: dict keys as written, int
 * keys and sequence indices in decimal, joined with '.'; keys that contain
 * '.' are matched longest first, backtracking when a longer key leads
 * nowhere; an OBJECT is entered through its state). "" is `v` itself.
 * NULL when nothing is there. */
MFT_API const mft_value *mft_value_find(const mft_value *v, const char *path);
/* The tensor index (for mft_tensor_at) of a TENSOR value: its first listing
 * when the same tensor appears under several paths. */
MFT_API size_t mft_value_tensor(const mft_value *v);
/* The class of an OBJECT ("collections.OrderedDict", "__main__.Net" …), its
 * state (what BUILD/__setstate__ would have received; NULL if none) and its
 * constructor arguments (a TUPLE; NULL if none). An OBJECT that is a bare
 * reference to a class or function (a pickle GLOBAL never called) has
 * neither; mft_value_is_global() tells. Nothing is ever imported or called. */
MFT_API const char *mft_value_class(const mft_value *v);
MFT_API const mft_value *mft_value_state(const mft_value *v);
MFT_API const mft_value *mft_value_args(const mft_value *v);
MFT_API int mft_value_is_global(const mft_value *v);
/* 1 for a SET that is a Python frozenset. */
MFT_API int mft_value_is_frozen(const mft_value *v);

/* GGUF metadata value types, with the GGUF specification's pinned ids. */
typedef enum mft_gguf_type {
    MFT_GGUF_UINT8 = 0,
    MFT_GGUF_INT8 = 1,
    MFT_GGUF_UINT16 = 2,
    MFT_GGUF_INT16 = 3,
    MFT_GGUF_UINT32 = 4,
    MFT_GGUF_INT32 = 5,
    MFT_GGUF_FLOAT32 = 6,
    MFT_GGUF_BOOL = 7,
    MFT_GGUF_STRING = 8,
    MFT_GGUF_ARRAY = 9,
    MFT_GGUF_UINT64 = 10,
    MFT_GGUF_INT64 = 11,
    MFT_GGUF_FLOAT64 = 12,
    MFT_GGUF_TYPE_COUNT_ = 13
} mft_gguf_type;

/* "UINT8" … "FLOAT64" (the spec's names); "INVALID" otherwise. Never NULL. */
MFT_API const char *mft_gguf_type_name(int type);
/* The GGUF value type `v` was stored with, or -1 when it does not come from
 * GGUF metadata. GGUF metadata maps to values so: UINT8 … INT64 → INT
 * (UINT64 above INT64_MAX → BIGINT, 9 bytes), FLOAT32/FLOAT64 → FLOAT (a
 * FLOAT32 widened exactly), BOOL → BOOL, STRING → STRING (bytes as stored),
 * ARRAY → LIST (nested arrays → LISTs of LISTs). For an ARRAY, *elem_type
 * (may be NULL) receives its element type, which an empty array keeps too;
 * otherwise -1. */
MFT_API int mft_value_gguf_type(const mft_value *v, int *elem_type);

/* ---------------------------------------------------------------- writer */

/* Streaming, atomic writer. Declare tensors (their bytes come from a pointer
 * that stays valid until commit, or from a callback) and metadata, then
 * commit: the writer writes a temporary file in the target's directory,
 * streams tensor data into it, fsyncs and renames it over the target. If
 * anything fails — or the writer is freed without commit — the target is
 * untouched and no temporary file is left. */
typedef struct mft_writer mft_writer;

typedef struct mft_writer_options {
    int overwrite;           /* replace an existing target (else MFT_ERR_EXISTS) */
    uint64_t max_shard_bytes;/* safetensors: > 0 splits into HF shards + index */
} mft_writer_options;

/* Start writing `path` in `format` (MFT_FORMAT_SAFETENSORS, MFT_FORMAT_GGUF,
 * MFT_FORMAT_NPY, MFT_FORMAT_NPZ or MFT_FORMAT_PYTORCH_ZIP). PyTorch files
 * are zip archives laid out as torch.save writes them (protocol-2 data.pkl,
 * storages 64-byte aligned) that torch.load(weights_only=True) and
 * mmap=True load; they hold a value tree (see "Value trees" below), by
 * default an OrderedDict of the added tensors (a state_dict), and have no
 * metadata section (metadata makes the commit fail). Dtypes U16/U32/U64,
 * C32, F8_* and F4 need torch >= 2.1 (_rebuild_tensor_v3), QI8/QU8/QI32
 * (from PyTorch files only) torch >= 2.0; torch 1.13's weights_only loader
 * also cannot read a Python float, as for files torch.save writes. GGUF files are version 3, laid out exactly as gguf-py's
 * GGUFWriter lays them out: key/values and tensors in the order they were
 * added, tensor data aligned to `general.alignment` (a UINT32 value, default
 * 32) with zero padding after the tensor infos and after every tensor. When
 * sharding, `path` names the single-file name (`dir/model.safetensors`);
 * shards become `dir/model-0000K-of-0000N.safetensors` and the index
 * `dir/model.safetensors.index.json`. On failure *out is still a writer whose
 * errmsg explains it (or NULL when out of memory). */
MFT_API mft_status mft_writer_open(const char *path, mft_format format,
                                   const mft_writer_options *opts,
                                   mft_writer **out);
/* Add a metadata entry (safetensors __metadata__: string → string; GGUF:
 * a STRING key/value). With key and value both NULL: write a metadata
 * section even if it stays empty (safetensors: "__metadata__":{}), as the
 * source file had one. Setting a key again replaces its value in place. */
MFT_API mft_status mft_writer_set_metadata(mft_writer *w, const char *key,
                                           const char *value);
/* Same, for a value of `len` bytes that may contain NUL. */
MFT_API mft_status mft_writer_set_metadata_n(mft_writer *w, const char *key,
                                             const char *value, size_t len);
/* Add a metadata entry with a typed value, deep-copied (the source may be
 * closed afterwards). GGUF: a value read from GGUF keeps the type it was
 * stored with (mft_value_gguf_type); any other value is typed as DESIGN.md §4
 * says: BOOL → BOOL, INT → INT64, a BIGINT in [2^63, 2^64) → UINT64, FLOAT →
 * FLOAT64, STRING → STRING, a LIST/TUPLE/SET whose items all map to one type
 * → ARRAY of that type (recursively; INT and BIGINT items together →
 * UINT64 when none is negative). NONE, DICT, OBJECT, TENSOR, BYTES, mixed
 * lists and BIGINTs out of range are MFT_ERR_UNSUPPORTED, with a message, and
 * leave the writer usable (callers name them and go on). safetensors: a
 * STRING as it is, any other value as compact JSON text. Setting a key again
 * replaces its value in place. */
MFT_API mft_status mft_writer_set_value(mft_writer *w, const char *key,
                                        const mft_value *value);
/* Add a metadata entry given as text and a GGUF value type (any but ARRAY):
 * integers in decimal (0x… hex too), range-checked against the type; floats
 * as strtod reads them (FLOAT32 then rounded to nearest float); BOOL "true",
 * "false", "1" or "0"; STRING as it is. A value that does not parse is
 * MFT_ERR_MISUSE. safetensors stores the text as it is. */
MFT_API mft_status mft_writer_set_typed(mft_writer *w, const char *key,
                                        mft_gguf_type type, const char *text);
/* Add a tensor whose `nbytes` row-major little-endian bytes are at `data`;
 * the writer copies name and shape, not the data, which must stay valid
 * until mft_writer_commit returns. */
MFT_API mft_status mft_writer_add_tensor(mft_writer *w, const char *name,
                                         mft_dtype dtype, int ndim,
                                         const uint64_t *shape,
                                         const void *data, uint64_t nbytes);
/* Same, but the bytes are produced at commit time: `fill(user, offset, buf,
 * len)` must write bytes [offset, offset+len) of the tensor into buf and
 * return 0 (non-zero aborts the commit). Chunks come in order. */
typedef int (*mft_fill_fn)(void *user, uint64_t offset, void *buf, size_t len);
MFT_API mft_status mft_writer_add_tensor_cb(mft_writer *w, const char *name,
                                            mft_dtype dtype, int ndim,
                                            const uint64_t *shape,
                                            mft_fill_fn fill, void *user);
/* Copy tensor `index` of an open file (zero-copy from its mapping). */
MFT_API mft_status mft_writer_add_from(mft_writer *w, const char *name,
                                       mft_file *src, size_t index);
/* Copy tensor `index` of an open file converted to `dtype`, element by
 * element as mft_dtype_from_f64 rounds (to nearest, ties to even; F32↔F16,
 * F32↔BF16 and F16↔BF16 bit-exact with numpy/ml_dtypes and torch, NaN, Inf
 * and subnormals included). The conversion runs chunk by chunk while the
 * tensor streams into the output: the tensor is never whole in memory. Both
 * dtypes must be numeric (not STRING, F6_*, or a block type: those are
 * MFT_ERR_DTYPE); the same dtype is a plain copy. */
MFT_API mft_status mft_writer_add_cast(mft_writer *w, const char *name,
                                       mft_dtype dtype, mft_file *src,
                                       size_t index);
/* Write everything and make it visible atomically. */
MFT_API mft_status mft_writer_commit(mft_writer *w);
/* Abandon (if not committed) and free. NULL allowed. */
MFT_API void mft_writer_free(mft_writer *w);
MFT_API const char *mft_writer_errmsg(const mft_writer *w);
/* After a sharded commit: how many files were written, and their paths. */
MFT_API size_t mft_writer_output_count(const mft_writer *w);
MFT_API const char *mft_writer_output_path(const mft_writer *w, size_t i);

/* ---------------------------------------------------------------- value trees */

/* A PyTorch file holds one Python value: a state_dict, or a whole training
 * checkpoint ({'epoch': 3, 'model_state_dict': OrderedDict(…),
 * 'optimizer_state_dict': {'state': {0: {…}}, 'param_groups': […]},
 * 'losses': [0.9, 0.5]}). Build it from nodes and hand its root to
 * mft_writer_set_root; without a root the file holds an OrderedDict of every
 * added tensor by name, in the order added (what model.state_dict() gives).
 * Tensors enter the tree by name (mft_node_tensor), after being added with
 * mft_writer_add_tensor/_cb/_from/_cast; their bytes still stream at commit.
 * Every added tensor must be in the tree (else commit fails).
 *
 * Ownership: a node belongs to the writer that made it, lives until
 * mft_writer_free, and is never freed by the caller. A node may be placed
 * in several containers: torch then loads one shared object (a tensor placed
 * twice comes back as one tensor, as tied weights do), but no container may
 * contain itself (commit fails with MFT_ERR_MISUSE). Containers may be
 * filled in any order until commit. Node builders return NULL when they fail
 * (out of memory, bad argument, a writer that is not MFT_FORMAT_PYTORCH_ZIP)
 * and record why on the writer; mft_node_append/mft_node_set/
 * mft_writer_set_root given a NULL node fail with MFT_ERR_MISUSE, and
 * mft_writer_commit then fails with the first message, so a sequence of
 * builder calls may be checked once, at commit. */
typedef struct mft_node mft_node;

MFT_API mft_node *mft_node_none(mft_writer *w);
MFT_API mft_node *mft_node_bool(mft_writer *w, int b);
MFT_API mft_node *mft_node_int(mft_writer *w, int64_t i);
/* An int of any size: `len` bytes of little-endian two's complement (the
 * payload of an MFT_VALUE_BIGINT), at most 255 significant bytes. */
MFT_API mft_node *mft_node_bigint(mft_writer *w, const void *bytes,
                                  size_t len);
MFT_API mft_node *mft_node_float(mft_writer *w, double x);
/* A str of `len` bytes of UTF-8 (copied); len (size_t)-1 means strlen(s). */
MFT_API mft_node *mft_node_string(mft_writer *w, const char *s, size_t len);
MFT_API mft_node *mft_node_list(mft_writer *w);
MFT_API mft_node *mft_node_tuple(mft_writer *w);
/* A dict (ordered 0) or a collections.OrderedDict (ordered 1, what
 * state_dict() returns); both keep insertion order. */
MFT_API mft_node *mft_node_dict(mft_writer *w, int ordered);
/* The tensor most recently added to `w` under `name`. */
MFT_API mft_node *mft_node_tensor(mft_writer *w, const char *name);
/* A copy of `v`, a value of the open file `src` (mft_file_root(src) or any
 * value below it), with every tensor in it added to `w` (named by its path
 * in `src`) as mft_writer_add_from would — or converted to `cast` as
 * mft_writer_add_cast would when `cast` is a real floating dtype and the
 * tensor is real floating (MFT_DTYPE_INVALID: no cast). `src` must stay open
 * until commit. Tensors that share one storage in `src` (views, tied
 * weights) share one storage in the output, each with its own offset, size
 * and stride. dicts stay dicts, OrderedDicts (and flattened nn.Modules)
 * OrderedDicts. What torch's weights_only loader would refuse is written as
 * what it holds (DESIGN.md §4), and each such change is recorded as a note
 * (mft_writer_note): a numpy array becomes a tensor, a numpy scalar a
 * Python number, a frozenset a set, a global that is not a torch dtype its
 * name as a str, any other object a dict of its attributes (or of its
 * items, or its state or constructor arguments when it has no attributes).
 * Sparse tensors, dtypes torch lacks and containers that contain themselves
 * fail. */
MFT_API mft_node *mft_node_from_value(mft_writer *w, mft_file *src,
                                      const mft_value *v, mft_dtype cast);
/* Append `item` to a list or tuple node. */
MFT_API mft_status mft_node_append(mft_node *seq, mft_node *item);
/* dict[key] = value. Keys: None, bool, int, float, str, tuples, tensors (not
 * lists or dicts). Setting a key twice keeps both items in the file, where
 * Python's dict keeps the first position and the last value. */
MFT_API mft_status mft_node_set(mft_node *dict, mft_node *key,
                                mft_node *value);
/* Same with a str key (copied). */
MFT_API mft_status mft_node_set_str(mft_node *dict, const char *key,
                                    mft_node *value);
/* The value the file holds (replaces an earlier root). */
MFT_API mft_status mft_writer_set_root(mft_writer *w, mft_node *root);
/* Notes made by mft_node_from_value: one line per value written as
 * something else than it was ("args: argparse.Namespace written as a dict
 * of its attributes"), at most 10000. Borrowed; valid until the writer is
 * freed. NULL past the end. */
MFT_API size_t mft_writer_note_count(const mft_writer *w);
MFT_API const char *mft_writer_note(const mft_writer *w, size_t i);

/* ---------------------------------------------------------------- scan */

/* Is a model file safe to load? mft_scan_* runs every pickle the file
 * holds (zip members whatever their names, nested zips, the legacy
 * format's five pickles, legacy tar checkpoints, .npy object arrays,
 * pickles back to back or after junk) on the data-only pickle machine and
 * judges every import and call it would make (DESIGN.md §4). Nothing is
 * imported, called, extracted or written. */
typedef enum mft_verdict {
    MFT_VERDICT_SAFE = 0,       /* every import on the allowlist, well formed */
    MFT_VERDICT_SUSPICIOUS = 1, /* off the allowlist but not known to be
                                   dangerous (__main__.Net, TorchScript
                                   code), or malformed but harmless */
    MFT_VERDICT_DANGEROUS = 2,  /* a known-dangerous or unresolvable
                                   callable, or a trick that hides one */
    MFT_VERDICT_ERROR = 3       /* nothing could be read */
} mft_verdict;

/* "SAFE", "SUSPICIOUS", "DANGEROUS", "ERROR". Never NULL. */
MFT_API const char *mft_verdict_name(mft_verdict verdict);

typedef enum mft_severity {
    MFT_SEVERITY_SUSPICIOUS = 1,
    MFT_SEVERITY_DANGEROUS = 2
} mft_severity;

/* "suspicious", "dangerous". Never NULL. */
MFT_API const char *mft_severity_name(mft_severity severity);

typedef struct mft_scan_options {
    /* Lowered limits for the scan (0 keeps the scanner's defaults, which
     * are lower than a reader's: see src/scan/scan.c). Index by mft_limit. */
    uint64_t limits[MFT_LIMIT_COUNT_];
} mft_scan_options;

typedef struct mft_scan_report mft_scan_report;

/* One thing found. Strings are borrowed from the report. */
typedef struct mft_scan_finding {
    mft_severity severity;
    const char *kind;      /* "import", "call", "unresolved-import",
                              "frame", "structure", "torchscript",
                              "container", "malformed", "embedded" … */
    const char *global;    /* module.name as the unpickler looks it up
                              (Python 2 names mapped), or NULL */
    const char *canonical; /* the same after folding implementation modules
                              (posix.system → os.system), or NULL */
    const char *member;    /* zip/tar member ("a.zip!archive/data.pkl" when
                              nested), or NULL for the file itself */
    int64_t offset;        /* byte offset in the member (or file), -1 none */
    const char *message;   /* what it is and why it matters */
} mft_scan_finding;

/* Scan the file (or directory entry) at `path`. `opts` may be NULL. On
 * MFT_OK *out is a report whatever the verdict (an unreadable file gives an
 * ERROR verdict with mft_scan_error saying why); otherwise *out is NULL
 * (out of memory, bad arguments). */
MFT_API mft_status mft_scan_path(const char *path,
                                 const mft_scan_options *opts,
                                 mft_scan_report **out);
/* Same for bytes in memory; `name` is used in the report (may be NULL). */
MFT_API mft_status mft_scan_memory(const void *data, size_t len,
                                   const char *name,
                                   const mft_scan_options *opts,
                                   mft_scan_report **out);
MFT_API void mft_scan_report_free(mft_scan_report *report);

MFT_API mft_verdict mft_scan_verdict(const mft_scan_report *report);
/* The path or name the report is about. */
MFT_API const char *mft_scan_file(const mft_scan_report *report);
/* The format found at offset 0 (what a loader would see). */
MFT_API mft_format mft_scan_format(const mft_scan_report *report);
/* Why the verdict is ERROR ("" otherwise). */
MFT_API const char *mft_scan_error(const mft_scan_report *report);
MFT_API size_t mft_scan_finding_count(const mft_scan_report *report);
/* Finding i (0 ≤ i < count), most severe first, then in file order. */
MFT_API mft_status mft_scan_finding_at(const mft_scan_report *report,
                                       size_t i, mft_scan_finding *out);
/* Every distinct global the file's pickles import (as looked up), in the
 * order first seen; allowlisted ones included. */
MFT_API size_t mft_scan_import_count(const mft_scan_report *report);
MFT_API const char *mft_scan_import_at(const mft_scan_report *report,
                                       size_t i);

#ifdef __cplusplus
}
#endif
#endif /* MFT_H */
