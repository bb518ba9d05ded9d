/* Content-based format detection: magic bytes and structure, never names. */
#include "internal.h"
#include <string.h>

static const char *const format_names[MFT_FORMAT_COUNT_] = {
    "unknown",       "safetensors",   "safetensors-index", "pytorch-zip",
    "pytorch-legacy", "torchscript",  "pickle",            "gguf",
    "npy",           "npz",           "onnx",              "hdf5",
    "keras",         "tf-checkpoint", "tf-savedmodel",     "tf-graphdef",
    "tflite",        "tensorrt",      "pytorch-export",
};

const char *mft_format_name(mft_format format)
{
    if ((unsigned)format >= MFT_FORMAT_COUNT_)
        return "unknown";
    return format_names[format];
}

mft_format mft_format_from_name(const char *name)
{
    if (!name)
        return MFT_FORMAT_UNKNOWN;
    for (int i = 1; i < MFT_FORMAT_COUNT_; i++)
        if (strcmp(name, format_names[i]) == 0)
            return (mft_format)i;
    return MFT_FORMAT_UNKNOWN;
}

static int is_json_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int contains(const uint8_t *p, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(p + i, needle, k) == 0)
            return 1;
    return 0;
}

mft_format mft_detect(const void *head, size_t len)
{
    const uint8_t *p = head;
    if (!p || len == 0)
        return MFT_FORMAT_UNKNOWN;
    /* GGUF: the magic "GGUF". Checked first: its version and counts could
     * look like a safetensors length (as a u64 "GGUF..." is > 10^18, far
     * past any safetensors header). */
    if (len >= 4 && memcmp(p, "GGUF", 4) == 0)
        return MFT_FORMAT_GGUF;
    /* NumPy .npy: the magic "\x93NUMPY" (then the version, never 0). */
    if (len >= 6 && memcmp(p, "\x93NUMPY", 6) == 0)
        return MFT_FORMAT_NPY;
    /* NumPy .npz: a zip whose first member is an .npy array (numpy writes
     * nothing else into one). Other zips are told apart by their central
     * directory once opened (PyTorch: data.pkl). */
    if (len >= 30 && memcmp(p, "PK\3\4", 4) == 0) {
        size_t nlen = (size_t)p[26] | (size_t)p[27] << 8;
        if (nlen >= 4 && 30 + nlen <= len &&
            memcmp(p + 30 + nlen - 4, ".npy", 4) == 0)
            return MFT_FORMAT_NPZ;
    }
    /* An empty zip (only an end record): what np.savez() writes for no
     * arrays. */
    if (len >= 22 && memcmp(p, "PK\5\6", 4) == 0 &&
        (size_t)p[20] + ((size_t)p[21] << 8) == len - 22)
        return MFT_FORMAT_NPZ;
    /* safetensors: u64 LE header length, then a JSON object (serde accepts
     * leading whitespace, so do we). The length must be plausible: its top
     * bytes zero (no header reaches 2^48). */
    if (len >= 9 && p[6] == 0 && p[7] == 0) {
        size_t i = 8;
        while (i < len && is_json_space(p[i]))
            i++;
        if (i < len && p[i] == '{')
            return MFT_FORMAT_SAFETENSORS;
    }
    /* PyTorch ≤ 1.5: a pickle of the magic number 0x1950a86a20f9469cfc6c
     * (protocol 2 writes it as PROTO 2, LONG1 of 10 bytes) */
    {
        static const uint8_t legacy[] = {0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC,
                                         0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8,
                                         0x50, 0x19, 0x2E};
        if (len >= sizeof legacy && memcmp(p, legacy, sizeof legacy) == 0)
            return MFT_FORMAT_PYTORCH_LEGACY;
        if (len >= 13 && p[0] == 0x8A && p[1] == 0x0A &&
            memcmp(p + 2, legacy + 4, 11) == 0)
            return MFT_FORMAT_PYTORCH_LEGACY; /* protocol 1: no PROTO */
        static const char text[] = "L119547037146038801333356L\n.";
        if (len >= sizeof text - 1 && memcmp(p, text, sizeof text - 1) == 0)
            return MFT_FORMAT_PYTORCH_LEGACY; /* protocol 0: text LONG */
    }
    /* A pickle of protocol 2–5 starts with PROTO n. */
    if (len >= 3 && p[0] == 0x80 && p[1] >= 2 && p[1] <= 5)
        return MFT_FORMAT_PICKLE;
    /* An HF index: a JSON object naming a weight_map. */
    {
        size_t i = 0;
        if (len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
            i = 3; /* UTF-8 byte order mark */
        while (i < len && is_json_space(p[i]))
            i++;
        if (i < len && p[i] == '{' && contains(p, len, "\"weight_map\""))
            return MFT_FORMAT_SAFETENSORS_INDEX;
    }
    return MFT_FORMAT_UNKNOWN;
}
