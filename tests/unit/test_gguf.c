/* GGUF through the public API: write with the writer (typed values, block
 * types, casts), read back, check types, shapes, bytes and the errors. */
#include "core/dtype.h"
#include "mft.h"
#include "unit.h"
#include <stdlib.h>
#include <unistd.h>

static char dir[64];

static const char *tmp(const char *name)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

static void test_type_names(void)
{
    CHECK(strcmp(mft_gguf_type_name(MFT_GGUF_UINT8), "UINT8") == 0);
    CHECK(strcmp(mft_gguf_type_name(MFT_GGUF_FLOAT64), "FLOAT64") == 0);
    CHECK(strcmp(mft_gguf_type_name(MFT_GGUF_ARRAY), "ARRAY") == 0);
    CHECK(strcmp(mft_gguf_type_name(13), "INVALID") == 0);
    CHECK(strcmp(mft_gguf_type_name(-1), "INVALID") == 0);
    int et = 5;
    CHECK(mft_value_gguf_type(NULL, &et) == -1 && et == -1);
}

static void test_write_read_typed(void)
{
    mft_writer *w = NULL;
    mft_writer_options o = {1, 0};
    CHECK(mft_writer_open(tmp("a.gguf"), MFT_FORMAT_GGUF, &o, &w) == MFT_OK);
    CHECK(mft_writer_set_typed(w, "general.architecture", MFT_GGUF_STRING,
                               "llama") == MFT_OK);
    CHECK(mft_writer_set_typed(w, "u8", MFT_GGUF_UINT8, "255") == MFT_OK);
    CHECK(mft_writer_set_typed(w, "i8", MFT_GGUF_INT8, "-128") == MFT_OK);
    CHECK(mft_writer_set_typed(w, "u64", MFT_GGUF_UINT64,
                               "18446744073709551615") == MFT_OK);
    CHECK(mft_writer_set_typed(w, "hex", MFT_GGUF_UINT32, "0xff") == MFT_OK);
    CHECK(mft_writer_set_typed(w, "f32", MFT_GGUF_FLOAT32, "0.1") == MFT_OK);
    CHECK(mft_writer_set_typed(w, "b", MFT_GGUF_BOOL, "false") == MFT_OK);
    CHECK(mft_writer_set_metadata(w, "s", "text") == MFT_OK);
    CHECK(mft_writer_set_typed(w, "u8", MFT_GGUF_UINT8, "7") == MFT_OK);
    /* refused, writer still usable */
    CHECK(mft_writer_set_typed(w, "x", MFT_GGUF_UINT8, "256") == MFT_ERR_MISUSE);
    CHECK(mft_writer_set_typed(w, "x", MFT_GGUF_INT8, "-129") == MFT_ERR_MISUSE);
    CHECK(mft_writer_set_typed(w, "x", MFT_GGUF_UINT16, "-1") == MFT_ERR_MISUSE);
    CHECK(mft_writer_set_typed(w, "x", MFT_GGUF_UINT16, "010x") == MFT_ERR_MISUSE);
    CHECK(mft_writer_set_typed(w, "x", MFT_GGUF_ARRAY, "1") == MFT_ERR_MISUSE);
    CHECK(mft_writer_set_typed(w, "x", MFT_GGUF_FLOAT64, "") == MFT_ERR_MISUSE);
    CHECK(mft_writer_set_typed(w, "", MFT_GGUF_STRING, "v") == MFT_ERR_MISUSE);

    float f[64];
    for (int i = 0; i < 64; i++)
        f[i] = (float)i / 3.0f - 7.0f;
    uint64_t shape[2] = {2, 32};
    CHECK(mft_writer_add_tensor(w, "f", MFT_F32, 2, shape, f, sizeof f) ==
          MFT_OK);
    unsigned char q[2 * 34] = {0};
    CHECK(mft_writer_add_tensor(w, "q", MFT_Q8_0, 2, shape, q, sizeof q) ==
          MFT_OK);
    CHECK(mft_writer_commit(w) == MFT_OK);
    mft_writer_free(w);

    mft_file *f2 = NULL;
    if (mft_open(tmp("a.gguf"), NULL, &f2) != MFT_OK) {
        CHECKF(0, "open: %s", mft_file_errmsg(f2));
        mft_close(f2);
        return;
    }
    const mft_value *m = mft_file_metadata(f2);
    CHECK(mft_value_len(m) == 8);
    CHECK(strcmp(mft_value_bytes(mft_value_key(m, 0), NULL),
                 "general.architecture") == 0);
    const mft_value *v = mft_value_lookup(m, "u8");
    CHECK(mft_value_gguf_type(v, NULL) == MFT_GGUF_UINT8 &&
          mft_value_int(v) == 7);
    CHECK(strcmp(mft_value_bytes(mft_value_key(m, 1), NULL), "u8") == 0);
    v = mft_value_lookup(m, "u64");
    size_t n;
    const char *big = mft_value_bytes(v, &n);
    CHECK(mft_value_get_kind(v) == MFT_VALUE_BIGINT && n == 9 &&
          memcmp(big, "\xff\xff\xff\xff\xff\xff\xff\xff\0", 9) == 0);
    CHECK(mft_value_gguf_type(v, NULL) == MFT_GGUF_UINT64);
    v = mft_value_lookup(m, "f32");
    CHECK(mft_value_float(v) == (double)0.1f);
    CHECK(mft_value_int(mft_value_lookup(m, "hex")) == 255);
    CHECK(mft_value_gguf_type(mft_value_lookup(m, "b"), NULL) == MFT_GGUF_BOOL);
    CHECK(mft_value_gguf_type(mft_value_lookup(m, "s"), NULL) ==
          MFT_GGUF_STRING);
    mft_tensor t;
    CHECK(mft_tensor_count(f2) == 2);
    CHECK(mft_tensor_at(f2, 1, &t) == MFT_OK && t.dtype == MFT_Q8_0 &&
          t.ndim == 2 && t.shape[0] == 2 && t.shape[1] == 32 &&
          t.numel == 64 && t.nbytes == 68);
    CHECK(mft_tensor_at(f2, 0, &t) == MFT_OK && t.offset % 32 == 0 &&
          memcmp(t.data, f, sizeof f) == 0);

    /* a cast while copying: F32 → F16, and a GGUF → GGUF copy of it */
    CHECK(mft_writer_open(tmp("b.gguf"), MFT_FORMAT_GGUF, &o, &w) == MFT_OK);
    for (size_t i = 0; i < mft_value_len(m); i++)
        CHECK(mft_writer_set_value(
                  w, mft_value_bytes(mft_value_key(m, i), NULL),
                  mft_value_item(m, i)) == MFT_OK);
    CHECK(mft_writer_add_cast(w, NULL, MFT_F16, f2, 0) == MFT_OK);
    CHECK(mft_writer_add_cast(w, NULL, MFT_F16, f2, 1) == MFT_ERR_DTYPE);
    mft_writer_free(w); /* not committed: nothing written */
    CHECK(access(tmp("b.gguf"), F_OK) != 0);

    CHECK(mft_writer_open(tmp("b.gguf"), MFT_FORMAT_GGUF, &o, &w) == MFT_OK);
    CHECK(mft_writer_add_cast(w, "h", MFT_F16, f2, 0) == MFT_OK);
    CHECK(mft_writer_commit(w) == MFT_OK);
    mft_writer_free(w);
    mft_file *f3 = NULL;
    CHECK(mft_open(tmp("b.gguf"), NULL, &f3) == MFT_OK);
    CHECK(mft_tensor_at(f3, 0, &t) == MFT_OK && t.dtype == MFT_F16 &&
          t.nbytes == 128);
    if (t.data) {
        const unsigned char *h = t.data;
        for (int i = 0; i < 64; i++)
            CHECKF((h[2 * i] | h[2 * i + 1] << 8) == mftc_f32_to_f16(f[i]),
                   "element %d", i);
    }
    mft_close(f3);

    /* the same values into safetensors metadata: strings as they are, any
     * other value as JSON text */
    CHECK(mft_writer_open(tmp("d.safetensors"), MFT_FORMAT_SAFETENSORS, &o,
                          &w) == MFT_OK);
    for (size_t i = 0; i < mft_value_len(m); i++)
        CHECK(mft_writer_set_value(
                  w, mft_value_bytes(mft_value_key(m, i), NULL),
                  mft_value_item(m, i)) == MFT_OK);
    CHECK(mft_writer_commit(w) == MFT_OK);
    mft_writer_free(w);
    mft_file *f4 = NULL;
    CHECK(mft_open(tmp("d.safetensors"), NULL, &f4) == MFT_OK);
    const mft_value *sm = mft_file_metadata(f4);
    static const char *const want[][2] = {
        {"general.architecture", "llama"}, {"u8", "7"}, {"i8", "-128"},
        {"u64", "18446744073709551615"}, {"hex", "255"},
        {"f32", "0.10000000149011612"}, {"b", "false"}, {"s", "text"}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *got = mft_value_bytes(mft_value_lookup(sm, want[i][0]),
                                          NULL);
        CHECKF(got && strcmp(got, want[i][1]) == 0, "%s: %s", want[i][0],
               got ? got : "(missing)");
    }
    mft_close(f4);
    unlink(tmp("d.safetensors"));
    mft_close(f2);
}

static void test_writer_refuses(void)
{
    mft_writer *w = NULL;
    mft_writer_options o = {1, 0};
    float x[2] = {1, 2};
    uint64_t s1[1] = {2}, s5[5] = {1, 1, 1, 1, 2};
    char name[80];
    memset(name, 'n', 64);
    name[64] = 0;

    CHECK(mft_writer_open(tmp("c.gguf"), MFT_FORMAT_GGUF, &o, &w) == MFT_OK);
    CHECK(mft_writer_add_tensor(w, name, MFT_F32, 1, s1, x, 8) == MFT_OK);
    CHECK(mft_writer_commit(w) == MFT_ERR_UNSUPPORTED);
    CHECK(strstr(mft_writer_errmsg(w), "63 bytes") != NULL);
    mft_writer_free(w);

    CHECK(mft_writer_open(tmp("c.gguf"), MFT_FORMAT_GGUF, &o, &w) == MFT_OK);
    CHECK(mft_writer_add_tensor(w, "v", MFT_F32, 5, s5, x, 8) == MFT_OK);
    CHECK(mft_writer_commit(w) == MFT_ERR_UNSUPPORTED);
    mft_writer_free(w);

    CHECK(mft_writer_open(tmp("c.gguf"), MFT_FORMAT_GGUF, &o, &w) == MFT_OK);
    CHECK(mft_writer_add_tensor(w, "u", MFT_U16, 1, s1, x, 4) == MFT_OK);
    CHECK(mft_writer_commit(w) == MFT_ERR_DTYPE);
    mft_writer_free(w);

    CHECK(mft_writer_open(tmp("c.gguf"), MFT_FORMAT_GGUF, &o, &w) == MFT_OK);
    CHECK(mft_writer_set_typed(w, "general.alignment", MFT_GGUF_UINT32, "24") ==
          MFT_OK);
    CHECK(mft_writer_commit(w) == MFT_ERR_MISUSE);
    mft_writer_free(w);
    CHECK(access(tmp("c.gguf"), F_OK) != 0);

    /* a block type needs whole blocks along its innermost dimension */
    uint64_t bad[2] = {2, 16};
    unsigned char q2[34] = {0};
    CHECK(mft_writer_open(tmp("c.gguf"), MFT_FORMAT_GGUF, &o, &w) == MFT_OK);
    CHECK(mft_writer_add_tensor(w, "q2", MFT_Q8_0, 2, bad, q2, 34) ==
          MFT_ERR_MISUSE);
    CHECK(strstr(mft_writer_errmsg(w), "block size") != NULL);
    mft_writer_free(w);

    mft_writer_options shard = {1, 100};
    CHECK(mft_writer_open(tmp("c.gguf"), MFT_FORMAT_GGUF, &shard, &w) ==
          MFT_ERR_UNSUPPORTED);
    mft_writer_free(w);

    /* safetensors cannot hold block types */
    uint64_t s32[1] = {32};
    unsigned char q[34] = {0};
    CHECK(mft_writer_open(tmp("c.safetensors"), MFT_FORMAT_SAFETENSORS, &o,
                          &w) == MFT_OK);
    CHECK(mft_writer_add_tensor(w, "q", MFT_Q8_0, 1, s32, q, 34) == MFT_OK);
    CHECK(mft_writer_commit(w) == MFT_ERR_DTYPE);
    mft_writer_free(w);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/mft-unit-gguf-XXXXXX");
    if (!mkdtemp(dir)) {
        printf("FAIL setup: mkdtemp\nunit: 0 passed, 1 failed\n");
        return 1;
    }
    RUN(test_type_names);
    RUN(test_write_read_typed);
    RUN(test_writer_refuses);
    unlink(tmp("a.gguf"));
    unlink(tmp("b.gguf"));
    rmdir(dir);
    return unit_summary();
}
