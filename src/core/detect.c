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
