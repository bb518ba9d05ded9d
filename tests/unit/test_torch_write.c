/* The PyTorch writer's C API (include/mft.h "Value trees"): trees written
 * and read back through mft's own reader, sharing, big ints, batching, and
 * every misuse the header promises to refuse. torch itself loads these
 * files in tests/test_torch_write.py. */
#include "mft.h"
#include "unit.h"
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];

static const char *path_of(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

static mft_writer *open_pt(const char *name)
{
    mft_writer_options o;
    memset(&o, 0, sizeof o);
    o.overwrite = 1;
    mft_writer *w = NULL;
    mft_status st = mft_writer_open(path_of(name), MFT_FORMAT_PYTORCH_ZIP, &o, &w);
    CHECKF(st == MFT_OK, "open: %s", w ? mft_writer_errmsg(w) : "");
    return w;
}

static const float data4[4] = {1.5f, -2.0f, 0.25f, 8.0f};
static const uint64_t shape4[1] = {4};

static void test_default_root_is_state_dict(void)
{
    mft_writer *w = open_pt("sd.pt");
    CHECK(mft_writer_add_tensor(w, "a.weight", MFT_F32, 1, shape4, data4, 16) == MFT_OK);
    CHECK(mft_writer_add_tensor(w, "a.bias", MFT_F32, 1, shape4, data4, 16) == MFT_OK);
    CHECKF(mft_writer_commit(w) == MFT_OK, "%s", mft_writer_errmsg(w));
    mft_writer_free(w);
    mft_file *f = NULL;
    CHECK(mft_open(path_of("sd.pt"), NULL, &f) == MFT_OK);
    CHECK(mft_file_format(f) == MFT_FORMAT_PYTORCH_ZIP);
    CHECK(mft_tensor_count(f) == 2);
    mft_tensor t;
    CHECK(mft_tensor_at(f, 0, &t) == MFT_OK && strcmp(t.name, "a.weight") == 0);
    CHECK(t.data && memcmp(t.data, data4, 16) == 0);
    CHECK(strcmp(t.member, "sd/data/0") == 0);
    CHECK((t.offset % 64) == 0);
    mft_close(f);
}

static void test_tree_reads_back(void)
{
    mft_writer *w = open_pt("tree.pth");
    mft_writer_add_tensor(w, "t", MFT_F32, 1, shape4, data4, 16);
    mft_node *root = mft_node_dict(w, 0);
    mft_node_set_str(root, "epoch", mft_node_int(w, 300));
    mft_node_set_str(root, "neg", mft_node_int(w, -70000));
    mft_node_set_str(root, "i64min", mft_node_int(w, INT64_MIN));
    unsigned char big[10] = {0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0}; /* 2^71 */
    mft_node_set_str(root, "big", mft_node_bigint(w, big, sizeof big));
    unsigned char neg[3] = {0xFF, 0xFF, 0xFF};                 /* -1, padded */
    mft_node_set_str(root, "minus1", mft_node_bigint(w, neg, sizeof neg));
    mft_node_set_str(root, "loss", mft_node_float(w, 0.1));
    mft_node_set_str(root, "name", mft_node_string(w, "r\xc3\xa9sum\xc3\xa9", (size_t)-1));
    mft_node_set_str(root, "none", mft_node_none(w));
    mft_node_set_str(root, "yes", mft_node_bool(w, 1));
    mft_node *tensor = mft_node_tensor(w, "t");
    mft_node *tup = mft_node_tuple(w);
    mft_node_append(tup, tensor);
    mft_node_append(tup, tensor); /* one tensor, twice */
    mft_node_set_str(root, "pair", tup);
    mft_node *ints = mft_node_dict(w, 0);
    mft_node_set(ints, mft_node_int(w, 0), mft_node_string(w, "zero", (size_t)-1));
    mft_node_set(ints, mft_node_int(w, 7), mft_node_list(w));
    mft_node_set_str(root, "ints", ints);
    mft_node *many = mft_node_list(w);
    for (int i = 0; i < 2500; i++) /* APPENDS batches of 1000 */
        mft_node_append(many, mft_node_int(w, i));
    mft_node_set_str(root, "many", many);
    mft_node *strs = mft_node_list(w);
    mft_node *shared = mft_node_string(w, "s", 1);
    for (int i = 0; i < 300; i++) /* memo indices past 255: LONG_BINPUT */
        mft_node_append(strs, mft_node_list(w));
    mft_node_append(strs, shared);
    mft_node_append(strs, shared);
    mft_node_set_str(root, "lists", strs);
    CHECK(mft_writer_set_root(w, root) == MFT_OK);
    CHECKF(mft_writer_commit(w) == MFT_OK, "%s", mft_writer_errmsg(w));
    CHECK(mft_writer_note_count(w) == 0);
    mft_writer_free(w);

    mft_file *f = NULL;
    CHECKF(mft_open(path_of("tree.pth"), NULL, &f) == MFT_OK, "%s", mft_file_errmsg(f));
    const mft_value *r = mft_file_root(f);
    CHECK(mft_value_int(mft_value_lookup(r, "epoch")) == 300);
    CHECK(mft_value_int(mft_value_lookup(r, "neg")) == -70000);
    CHECK(mft_value_int(mft_value_lookup(r, "i64min")) == INT64_MIN);
    size_t n;
    const char *b = mft_value_bytes(mft_value_lookup(r, "big"), &n);
    CHECK(mft_value_get_kind(mft_value_lookup(r, "big")) == MFT_VALUE_BIGINT);
    CHECK(b && n == 10 && memcmp(b, big, 10) == 0);
    CHECK(mft_value_int(mft_value_lookup(r, "minus1")) == -1);
    CHECK(mft_value_float(mft_value_lookup(r, "loss")) == 0.1);
    b = mft_value_bytes(mft_value_lookup(r, "name"), &n);
    CHECK(b && n == 8 && memcmp(b, "r\xc3\xa9sum\xc3\xa9", 8) == 0);
    CHECK(mft_value_get_kind(mft_value_lookup(r, "none")) == MFT_VALUE_NONE);
    CHECK(mft_value_bool(mft_value_lookup(r, "yes")) == 1);
    const mft_value *pair = mft_value_lookup(r, "pair");
    CHECK(mft_value_get_kind(pair) == MFT_VALUE_TUPLE && mft_value_len(pair) == 2);
    CHECK(mft_value_item(pair, 0) == mft_value_item(pair, 1)); /* memo */
    const mft_value *ints_v = mft_value_lookup(r, "ints");
    CHECK(mft_value_int(mft_value_key(ints_v, 1)) == 7);
    const mft_value *many_v = mft_value_lookup(r, "many");
    CHECK(mft_value_len(many_v) == 2500);
    CHECK(mft_value_int(mft_value_item(many_v, 2499)) == 2499);
    const mft_value *lists = mft_value_lookup(r, "lists");
    CHECK(mft_value_len(lists) == 302);
    CHECK(mft_value_item(lists, 300) == mft_value_item(lists, 301));
    /* the tensor is listed under both paths, one storage */
    mft_tensor a, c;
    size_t ia, ic;
    CHECK(mft_tensor_find(f, "pair.0", &ia) == MFT_OK);
    CHECK(mft_tensor_find(f, "pair.1", &ic) == MFT_OK);
    mft_tensor_at(f, ia, &a);
    mft_tensor_at(f, ic, &c);
    CHECK(a.member && c.member && strcmp(a.member, c.member) == 0);
    mft_close(f);
}

static void test_copy_keeps_sharing(void)
{
    /* write a view-sharing file with the API, then copy its tree */
    mft_writer *w = open_pt("src.pt");
    mft_writer_add_tensor(w, "t", MFT_F32, 1, shape4, data4, 16);
    mft_node *root = mft_node_dict(w, 1);
    mft_node_set_str(root, "x", mft_node_tensor(w, "t"));
    mft_node_set_str(root, "y", mft_node_tensor(w, "t"));
    mft_writer_set_root(w, root);
    CHECKF(mft_writer_commit(w) == MFT_OK, "%s", mft_writer_errmsg(w));
    mft_writer_free(w);
    mft_file *f = NULL;
    CHECK(mft_open(path_of("src.pt"), NULL, &f) == MFT_OK);
    w = open_pt("copy.pt");
    mft_node *copy = mft_node_from_value(w, f, mft_file_root(f), MFT_DTYPE_INVALID);
    CHECK(copy != NULL);
    CHECK(mft_writer_set_root(w, copy) == MFT_OK);
    CHECKF(mft_writer_commit(w) == MFT_OK, "%s", mft_writer_errmsg(w));
    mft_writer_free(w);
    mft_close(f);
    CHECK(mft_open(path_of("copy.pt"), NULL, &f) == MFT_OK);
    mft_tensor x, y;
    mft_tensor_at(f, 0, &x);
    mft_tensor_at(f, 1, &y);
    CHECK(strcmp(x.name, "x") == 0 && strcmp(y.name, "y") == 0);
    CHECK(x.member && y.member && strcmp(x.member, y.member) == 0);
    mft_close(f);
}

static void test_misuse(void)
{
    /* nodes belong to PyTorch writers */
    mft_writer *w = NULL;
    mft_writer_options o;
    memset(&o, 0, sizeof o);
    o.overwrite = 1;
    mft_writer_open(path_of("x.safetensors"), MFT_FORMAT_SAFETENSORS, &o, &w);
    CHECK(mft_node_int(w, 1) == NULL);
    CHECK(strstr(mft_writer_errmsg(w), "PyTorch") != NULL);
    CHECK(mft_writer_commit(w) != MFT_OK);
    mft_writer_free(w);
    CHECK(!exists(path_of("x.safetensors")));

    /* a cycle */
    w = open_pt("cycle.pt");
    mft_node *l = mft_node_list(w);
    CHECK(mft_node_append(l, l) == MFT_OK);
    mft_writer_set_root(w, l);
    CHECK(mft_writer_commit(w) == MFT_ERR_MISUSE);
    CHECK(strstr(mft_writer_errmsg(w), "cycle") != NULL);
    mft_writer_free(w);
    CHECK(!exists(path_of("cycle.pt")));

    /* a tensor left out of the tree */
    w = open_pt("orphan.pt");
    mft_writer_add_tensor(w, "t", MFT_F32, 1, shape4, data4, 16);
    mft_writer_set_root(w, mft_node_dict(w, 0));
    CHECK(mft_writer_commit(w) == MFT_ERR_MISUSE);
    CHECK(strstr(mft_writer_errmsg(w), "\"t\"") != NULL);
    mft_writer_free(w);
    CHECK(!exists(path_of("orphan.pt")));

    /* two tensors of one name in a default state_dict */
    w = open_pt("dup.pt");
    mft_writer_add_tensor(w, "t", MFT_F32, 1, shape4, data4, 16);
    mft_writer_add_tensor(w, "t", MFT_F32, 1, shape4, data4, 16);
    CHECK(mft_writer_commit(w) == MFT_ERR_MISUSE);
    mft_writer_free(w);

    /* builders that fail poison the commit with the first message */
    w = open_pt("bad.pt");
    CHECK(mft_node_tensor(w, "nope") == NULL);
    CHECK(strstr(mft_writer_errmsg(w), "nope") != NULL);
    CHECK(mft_node_string(w, "\xff", 1) == NULL);
    CHECK(mft_node_set_str(mft_node_dict(w, 0), "k", NULL) == MFT_ERR_MISUSE);
    CHECK(mft_node_set(mft_node_dict(w, 0), mft_node_list(w), mft_node_none(w)) ==
          MFT_ERR_MISUSE);
    unsigned char huge[300];
    memset(huge, 0x11, sizeof huge);
    CHECK(mft_node_bigint(w, huge, sizeof huge) == NULL);
    CHECK(mft_writer_commit(w) != MFT_OK);
    CHECK(strstr(mft_writer_errmsg(w), "nope") != NULL);
    mft_writer_free(w);
    CHECK(!exists(path_of("bad.pt")));

    /* dtypes torch has no name for, or needs more for */
    w = open_pt("dt.pt");
    uint8_t q[4] = {1, 2, 3, 4};
    mft_writer_add_tensor(w, "q", MFT_QI8, 1, shape4, q, 4);
    CHECK(mft_writer_commit(w) == MFT_ERR_DTYPE);
    mft_writer_free(w);
    w = open_pt("dt.pt");
    uint64_t odd[2] = {2, 3}; /* 6 values in 3 bytes, but an odd last dim */
    CHECKF(mft_writer_add_tensor(w, "f4", MFT_F4, 2, odd, q, 3) == MFT_OK, "%s",
           mft_writer_errmsg(w));
    CHECKF(mft_writer_commit(w) == MFT_ERR_DTYPE, "%s", mft_writer_errmsg(w));
    CHECK(strstr(mft_writer_errmsg(w), "even") != NULL);
    mft_writer_free(w);
    w = open_pt("dt.pt");
    uint64_t one[1] = {32};
    uint8_t blk[34] = {0};
    mft_writer_add_tensor(w, "q8", MFT_Q8_0, 1, one, blk, 34);
    CHECK(mft_writer_commit(w) == MFT_ERR_DTYPE);
    CHECK(strstr(mft_writer_errmsg(w), "q8") != NULL);
    mft_writer_free(w);
    CHECK(!exists(path_of("dt.pt")));

    /* metadata has no place in a PyTorch file */
    w = open_pt("meta.pt");
    mft_writer_set_metadata(w, "k", "v");
    CHECK(mft_writer_commit(w) == MFT_ERR_UNSUPPORTED);
    mft_writer_free(w);

    /* no sharding, no overwrite without the option */
    mft_writer_options so;
    memset(&so, 0, sizeof so);
    so.max_shard_bytes = 100;
    w = NULL;
    CHECK(mft_writer_open(path_of("s.pt"), MFT_FORMAT_PYTORCH_ZIP, &so, &w) ==
          MFT_ERR_UNSUPPORTED);
    mft_writer_free(w);
    w = NULL;
    memset(&so, 0, sizeof so);
    mft_writer_open(path_of("sd.pt"), MFT_FORMAT_PYTORCH_ZIP, &so, &w);
    mft_writer_add_tensor(w, "a", MFT_F32, 1, shape4, data4, 16);
    CHECK(mft_writer_commit(w) == MFT_ERR_EXISTS);
    mft_writer_free(w);

    /* freed without commit: nothing */
    w = open_pt("never.pt");
    mft_writer_add_tensor(w, "a", MFT_F32, 1, shape4, data4, 16);
    mft_writer_free(w);
    CHECK(!exists(path_of("never.pt")));
    mft_writer_free(NULL);
}

static void test_folder_name(void)
{
    mft_writer *w = open_pt(".pth"); /* no stem: torch's "archive" */
    mft_writer_add_tensor(w, "a", MFT_F32, 1, shape4, data4, 16);
    CHECKF(mft_writer_commit(w) == MFT_OK, "%s", mft_writer_errmsg(w));
    mft_writer_free(w);
    mft_file *f = NULL;
    CHECK(mft_open(path_of(".pth"), NULL, &f) == MFT_OK);
    mft_tensor t;
    CHECK(mft_tensor_at(f, 0, &t) == MFT_OK && strcmp(t.member, "archive/data/0") == 0);
    mft_close(f);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/mft-unit-torchw-%ld", (long)getpid());
    mkdir(dir, 0700);
    RUN(test_default_root_is_state_dict);
    RUN(test_tree_reads_back);
    RUN(test_copy_keeps_sharing);
    RUN(test_misuse);
    RUN(test_folder_name);
    const char *names[] = {"sd.pt", "tree.pth", "src.pt", "copy.pt", ".pth"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        unlink(path_of(names[i]));
    rmdir(dir);
    return unit_summary();
}
