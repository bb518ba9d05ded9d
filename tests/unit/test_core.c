/* Unit tests for src/core: cursor, checked arithmetic, UTF-8, JSON, detection,
 * value tree, status text, and the open/write API on in-memory files. */
#include "core/checked.h"
#include "core/cursor.h"
#include "core/internal.h"
#include "core/json.h"
#include "unit.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_cursor_bounds(void)
{
    const uint8_t buf[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    mftc_cursor c = mftc_cursor_make(buf, sizeof buf, 100);
    uint64_t v64;
    uint32_t v32;
    uint16_t v16;
    uint8_t v8;
    CHECK(mftc_le64(&c, &v64) && v64 == 0x0807060504030201ull);
    CHECK(mftc_offset(&c) == 108);
    CHECK(!mftc_le16(&c, &v16));
    CHECK(mftc_offset(&c) == 108); /* a failed read does not move */
    CHECK(mftc_u8(&c, &v8) && v8 == 9);
    CHECK(!mftc_u8(&c, &v8));
    CHECK(!mftc_le32(&c, &v32));
    CHECK(mftc_remaining(&c) == 0);
    const uint8_t *p;
    mftc_cursor d = mftc_cursor_make(buf, sizeof buf, 0);
    CHECK(!mftc_take(&d, 10, &p));
    CHECK(mftc_take(&d, 9, &p) && p == buf);
    CHECK(!mftc_skip(&d, 1));
}

static void test_checked_arithmetic(void)
{
    uint64_t r;
    CHECK(mftc_add_u64(1, 2, &r) && r == 3);
    CHECK(!mftc_add_u64(UINT64_MAX, 1, &r));
    CHECK(mftc_mul_u64(1ull << 31, 1ull << 32, &r) && r == 1ull << 63);
    CHECK(!mftc_mul_u64(1ull << 32, 1ull << 32, &r));
    uint64_t shape[] = {1ull << 40, 1ull << 30};
    CHECK(!mftc_shape_numel(shape, 2, &r));
    uint64_t zero_dim[] = {1ull << 40, 0, 1ull << 40};
    CHECK(mftc_shape_numel(zero_dim, 3, &r) && r == 0);
    CHECK(mftc_shape_numel(NULL, 0, &r) && r == 1);
    int whole;
    CHECK(mftc_elem_bytes(3, 4, &r, &whole) == 0 && whole == 0);
    CHECK(mftc_elem_bytes(4, 4, &r, &whole) && r == 2);
    CHECK(!mftc_elem_bytes(UINT64_MAX / 2, 32, &r, &whole) && whole);
    CHECK(mftc_fits(10, 5, 15) && !mftc_fits(10, 6, 15));
    CHECK(!mftc_fits(UINT64_MAX, 2, UINT64_MAX));
}

static void test_utf8(void)
{
    const char *ok = "plain é 😀 €";
    CHECK(mftc_utf8_check((const uint8_t *)ok, strlen(ok)) == strlen(ok));
    const uint8_t overlong[] = {'a', 0xC0, 0xAF};
    CHECK(mftc_utf8_check(overlong, 3) == 1);
    const uint8_t surrogate[] = {0xED, 0xA0, 0x80};
    CHECK(mftc_utf8_check(surrogate, 3) == 0);
    const uint8_t truncated[] = {'x', 'y', 0xE2, 0x82};
    CHECK(mftc_utf8_check(truncated, 4) == 2);
    const uint8_t too_big[] = {0xF4, 0x90, 0x80, 0x80};
    CHECK(mftc_utf8_check(too_big, 4) == 0);
}

static mftc_json *parse(mftc_arena *a, const char *s, mftc_json_error *e)
{
    return mftc_json_parse(a, s, strlen(s), 1000, 64, e);
}

static void test_json_values(void)
{
    mftc_arena a = {0};
    mftc_json_error e;
    mftc_json *j = parse(&a, " {\"a\": [1, -2, 18446744073709551615, 1.5e3],"
                             " \"s\": \"x\\u00e9\\ud83d\\ude00\\n\", \"t\": true,"
                             " \"n\": null} ",
                         &e);
    CHECKF(j != NULL, "%s", e.msg);
    if (!j)
        return;
    CHECK(j->type == MFTC_JSON_OBJECT && j->u.kids.n == 4);
    CHECK(j->offset == 1001);
    const mftc_json *arr = mftc_json_get(j, "a");
    CHECK(arr && arr->type == MFTC_JSON_ARRAY && arr->u.kids.n == 4);
    CHECK(arr->u.kids.m[0].value.u.num.is_int && arr->u.kids.m[0].value.u.num.mag == 1);
    CHECK(arr->u.kids.m[1].value.u.num.neg && arr->u.kids.m[1].value.u.num.mag == 2);
    CHECK(arr->u.kids.m[2].value.u.num.is_int &&
          arr->u.kids.m[2].value.u.num.mag == UINT64_MAX);
    CHECK(!arr->u.kids.m[3].value.u.num.is_int &&
          arr->u.kids.m[3].value.u.num.d == 1500.0);
    const mftc_json *s = mftc_json_get(j, "s");
    CHECK(s && s->u.str.n == 8 && memcmp(s->u.str.p, "x\xc3\xa9\xf0\x9f\x98\x80\n", 8) == 0);
    CHECK(mftc_json_get(j, "t")->u.b == 1);
    CHECK(mftc_json_get(j, "n")->type == MFTC_JSON_NULL);
    CHECK(mftc_json_get(j, "missing") == NULL);
    mftc_arena_free(&a);
}

static void test_json_errors(void)
{
    static const struct { const char *text, *msg; uint64_t at; } cases[] = {
        {"{\"a\":1,\"a\":2}", "duplicate key \"a\"", 1007},
        {"{\"a\":1,}", "expected a string key", 1007},
        {"[1 2]", "expected ',' or ']'", 1003},
        {"01", "leading zero", 1000},
        {"1.", "digit expected", 1000},
        {"\"abc", "unterminated", 1000},
        {"\"a\\x\"", "invalid escape", 1002},
        {"\"\\ud800\"", "lone leading surrogate", 1001},
        {"\"\\udc00\"", "lone trailing surrogate", 1001},
        {"{} x", "trailing characters", 1003},
        {"", "unexpected end", 1000},
        {"nul", "unexpected character", 1000},
        {"\"a\tb\"", "control character", 1002},
        {"18446744073709551616", NULL, 0}, /* valid, but not an exact int */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mftc_arena a = {0};
        mftc_json_error e;
        mftc_json *j = parse(&a, cases[i].text, &e);
        if (!cases[i].msg) {
            CHECKF(j && j->type == MFTC_JSON_NUMBER && !j->u.num.is_int,
                   "case %zu", i);
        } else {
            CHECKF(j == NULL && strstr(e.msg, cases[i].msg) &&
                       e.offset == cases[i].at,
                   "case %zu: got '%s' at %llu", i, e.msg,
                   (unsigned long long)e.offset);
        }
        mftc_arena_free(&a);
    }
    /* depth limit */
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    mftc_arena a = {0};
    mftc_json_error e;
    CHECK(mftc_json_parse(&a, deep, 200, 0, 64, &e) == NULL &&
          strstr(e.msg, "nested too deeply"));
    CHECK(mftc_json_parse(&a, deep + 40, 120, 0, 64, &e) != NULL);
    mftc_arena_free(&a);
    /* duplicate detection in a large object (sorted path) */
    char big[4096];
    size_t n = 0;
    n += (size_t)snprintf(big, sizeof big, "{");
    for (int k = 0; k < 100; k++)
        n += (size_t)snprintf(big + n, sizeof big - n, "%s\"k%d\":%d",
                              k ? "," : "", k % 99, k);
    snprintf(big + n, sizeof big - n, "}");
    mftc_arena b = {0};
    CHECK(parse(&b, big, &e) == NULL && strstr(e.msg, "duplicate key \"k0\""));
    mftc_arena_free(&b);
}

static void test_detect(void)
{
    const uint8_t st[] = {2, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
    CHECK(mft_detect(st, sizeof st) == MFT_FORMAT_SAFETENSORS);
    const uint8_t st_ws[] = {3, 0, 0, 0, 0, 0, 0, 0, ' ', '{', '}'};
    CHECK(mft_detect(st_ws, sizeof st_ws) == MFT_FORMAT_SAFETENSORS);
    const char *idx = "{\n  \"metadata\": {},\n  \"weight_map\": {}}";
    CHECK(mft_detect(idx, strlen(idx)) == MFT_FORMAT_SAFETENSORS_INDEX);
    CHECK(mft_detect("PK\3\4", 4) == MFT_FORMAT_UNKNOWN);
    CHECK(mft_detect(NULL, 0) == MFT_FORMAT_UNKNOWN);
    CHECK(strcmp(mft_format_name(MFT_FORMAT_SAFETENSORS_INDEX),
                 "safetensors-index") == 0);
    CHECK(mft_format_from_name("pytorch-zip") == MFT_FORMAT_PYTORCH_ZIP);
    CHECK(mft_format_from_name("nope") == MFT_FORMAT_UNKNOWN);
}

static void test_status_text(void)
{
    CHECK(strcmp(mft_errname(MFT_ERR_CORRUPT), "MFT_ERR_CORRUPT") == 0);
    CHECK(MFT_ERR_CORRUPT == 4 && MFT_ERR_MISMATCH == 11); /* pinned */
    for (int s = 0; s <= 12; s++)
        CHECK(mft_strerror(s) != NULL && mft_strerror(s)[0]);
    CHECK(strcmp(mft_version(), MFT_VERSION_STRING) == 0);
}

static void test_value_tree(void)
{
    mftc_arena a = {0};
    mft_value *d = mftc_value_new(&a, MFT_VALUE_DICT);
    for (int i = 0; i < 100; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        CHECK(mftc_value_append(&a, d, mftc_value_string(&a, k, strlen(k)),
                                mftc_value_int(&a, i)));
    }
    CHECK(mft_value_len(d) == 100);
    CHECK(mft_value_int(mft_value_lookup(d, "k42")) == 42);
    CHECK(mft_value_lookup(d, "k100") == NULL);
    CHECK(mft_value_item(d, 100) == NULL);
    CHECK(mft_value_get_kind(mft_value_key(d, 3)) == MFT_VALUE_STRING);
    CHECK(mft_value_get_kind(NULL) == MFT_VALUE_NONE);
    mftc_arena_free(&a);
}

/* A tiny safetensors file in memory, written by hand. */
static size_t make_st(uint8_t *out, const char *header, const void *data,
                      size_t dlen)
{
    size_t h = strlen(header);
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)((uint64_t)h >> (8 * i));
    memcpy(out + 8, header, h);
    memcpy(out + 8 + h, data, dlen);
    return 8 + h + dlen;
}

static void test_open_memory(void)
{
    uint8_t buf[512];
    float vals[3] = {1, 2, 3};
    size_t n = make_st(buf, "{\"b\":{\"dtype\":\"F32\",\"shape\":[3],"
                            "\"data_offsets\":[0,12]},\"__metadata__\":"
                            "{\"k\":\"v\"}}",
                       vals, sizeof vals);
    mft_file *f = NULL;
    CHECK(mft_open_memory(buf, n, "m.safetensors", NULL, &f) == MFT_OK);
    CHECK(mft_file_format(f) == MFT_FORMAT_SAFETENSORS);
    CHECK(mft_tensor_count(f) == 1);
    mft_tensor t;
    CHECK(mft_tensor_at(f, 0, &t) == MFT_OK && t.numel == 3 &&
          t.data == buf + n - 12 && t.strides[0] == 1);
    CHECK(mft_tensor_at(f, 1, &t) == MFT_ERR_NOT_FOUND);
    size_t idx;
    CHECK(mft_tensor_find(f, "b", &idx) == MFT_OK && idx == 0);
    CHECK(mft_tensor_find(f, "c", &idx) == MFT_ERR_NOT_FOUND);
    CHECK(strstr(mft_file_errmsg(f), "no tensor named \"c\""));
    const char *v = mft_value_bytes(mft_value_lookup(mft_file_metadata(f), "k"), NULL);
    CHECK(v && strcmp(v, "v") == 0);
    CHECK(mft_value_tensor(mft_value_lookup(mft_file_root(f), "b")) == 0);
    mft_close(f);
    mft_close(NULL);

    /* a limit lowered on the handle */
    mft_open_options o;
    memset(&o, 0, sizeof o);
    o.limits[MFT_LIMIT_HEADER_BYTES] = 16;
    CHECK(mft_open_memory(buf, n, "m.safetensors", &o, &f) == MFT_ERR_LIMIT);
    CHECK(strstr(mft_file_errmsg(f), "exceeds the limit of 16"));
    mft_close(f);
    o.limits[MFT_LIMIT_HEADER_BYTES] = 1ull << 62;
    CHECK(mft_open_memory(buf, n, "m.safetensors", &o, &f) == MFT_ERR_MISUSE);
    mft_close(f);

    /* errors name file, member and offset */
    n = make_st(buf, "{\"b\":{\"dtype\":\"F33\",\"shape\":[3],"
                     "\"data_offsets\":[0,12]}}", vals, sizeof vals);
    CHECK(mft_open_memory(buf, n, "bad.safetensors", NULL, &f) == MFT_ERR_CORRUPT);
    CHECKF(strcmp(mft_file_errmsg(f), "bad.safetensors: header: tensor \"b\": "
                                      "unknown dtype \"F33\" (at byte 22)") == 0,
           "%s", mft_file_errmsg(f));
    mft_close(f);
}

static int fill_counting(void *user, uint64_t offset, void *buf, size_t len)
{
    (void)user;
    for (size_t i = 0; i < len; i++)
        ((uint8_t *)buf)[i] = (uint8_t)(offset + i);
    return 0;
}

static void test_writer_roundtrip(void)
{
    char dir[] = "/tmp/mft-unit-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/out.safetensors", dir);
    mft_writer *w = NULL;
    CHECK(mft_writer_open(path, MFT_FORMAT_SAFETENSORS, NULL, &w) == MFT_OK);
    uint64_t shape[2] = {2, 2};
    int32_t data[4] = {1, 2, 3, 4};
    CHECK(mft_writer_add_tensor(w, "z", MFT_I32, 2, shape, data, 16) == MFT_OK);
    CHECK(mft_writer_add_tensor(w, "bad", MFT_I32, 2, shape, data, 15) == MFT_ERR_MISUSE);
    uint64_t s1[1] = {300};
    CHECK(mft_writer_add_tensor_cb(w, "a", MFT_U8, 1, s1, fill_counting, NULL) == MFT_OK);
    CHECK(mft_writer_set_metadata(w, "format", "pt") == MFT_OK);
    mft_writer_free(w); /* abandoned: nothing written */
    CHECK(access(path, F_OK) != 0);

    CHECK(mft_writer_open(path, MFT_FORMAT_SAFETENSORS, NULL, &w) == MFT_OK);
    CHECK(mft_writer_add_tensor(w, "z", MFT_I32, 2, shape, data, 16) == MFT_OK);
    CHECK(mft_writer_add_tensor_cb(w, "a", MFT_U8, 1, s1, fill_counting, NULL) == MFT_OK);
    CHECK(mft_writer_set_metadata(w, "format", "pt") == MFT_OK);
    CHECK(mft_writer_commit(w) == MFT_OK);
    CHECK(mft_writer_output_count(w) == 1);
    mft_writer_free(w);

    mft_file *f = NULL;
    CHECK(mft_open(path, NULL, &f) == MFT_OK);
    CHECK(mft_tensor_count(f) == 2);
    mft_tensor t;
    /* I32 sorts before U8 (larger alignment first) */
    CHECK(mft_tensor_at(f, 0, &t) == MFT_OK && strcmp(t.name, "z") == 0 &&
          memcmp(t.data, data, 16) == 0);
    CHECK(mft_tensor_at(f, 1, &t) == MFT_OK && strcmp(t.name, "a") == 0 &&
          ((const uint8_t *)t.data)[299] == (uint8_t)299);
    mft_close(f);

    /* refusing to overwrite */
    CHECK(mft_writer_open(path, MFT_FORMAT_SAFETENSORS, NULL, &w) == MFT_OK);
    CHECK(mft_writer_add_tensor(w, "z", MFT_I32, 2, shape, data, 16) == MFT_OK);
    CHECK(mft_writer_commit(w) == MFT_ERR_EXISTS);
    mft_writer_free(w);
    /* a dtype safetensors cannot hold */
    char p2[300];
    snprintf(p2, sizeof p2, "%s/s.safetensors", dir);
    CHECK(mft_writer_open(p2, MFT_FORMAT_SAFETENSORS, NULL, &w) == MFT_OK);
    CHECK(mft_writer_add_tensor(w, "q", MFT_I4, 1, s1, data, 150) == MFT_OK);
    CHECK(mft_writer_commit(w) == MFT_ERR_DTYPE);
    CHECK(strstr(mft_writer_errmsg(w), "cannot hold dtype I4"));
    mft_writer_free(w);
    CHECK(access(p2, F_OK) != 0);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    RUN(test_cursor_bounds);
    RUN(test_checked_arithmetic);
    RUN(test_utf8);
    RUN(test_json_values);
    RUN(test_json_errors);
    RUN(test_detect);
    RUN(test_status_text);
    RUN(test_value_tree);
    RUN(test_open_memory);
    RUN(test_writer_roundtrip);
    return unit_summary();
}
