/* write_checkpoint: save a PyTorch training checkpoint from C.
 *
 *   cc -std=c11 write_checkpoint.c $(pkg-config --cflags --libs mft) -o write_checkpoint
 *   ./write_checkpoint ckpt.pth [--force]
 *
 * The file is what this Python would have saved:
 *
 *   torch.save({
 *       "epoch": 5,
 *       "model_state_dict": OrderedDict(fc1.weight=…, fc1.bias=…,
 *                                       fc2.weight=…, fc2.bias=…),
 *       "optimizer_state_dict": {
 *           "state": {0: {"step": tensor(5.), "exp_avg": …, "exp_avg_sq": …},
 *                     1: {…}, 2: {…}, 3: {…}},
 *           "param_groups": [{"lr": 0.001, "betas": (0.9, 0.999),
 *                             "eps": 1e-08, "weight_decay": 0,
 *                             "amsgrad": False, "params": [0, 1, 2, 3]}]},
 *       "losses": [2.5, 1.25, 0.625],
 *   }, "ckpt.pth")
 *
 * and torch.load("ckpt.pth", weights_only=True) gives it back (torch 1.13's
 * weights_only loader cannot read Python floats at all: use torch ≥ 2.0).
 * Parameter i holds the values (i + 1) * 0.01 * k for k = 0, 1, 2 … in
 * row-major order, exp_avg those divided by 10 and exp_avg_sq their squares;
 * fc2.weight streams from a callback instead of a buffer. */
#include <mft.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPARAMS 4

static const char *const names[NPARAMS] = {"fc1.weight", "fc1.bias",
                                           "fc2.weight", "fc2.bias"};
static const uint64_t shapes[NPARAMS][2] = {{8, 4}, {8, 0}, {2, 8}, {2, 0}};
static const int ndims[NPARAMS] = {2, 1, 2, 1};

static uint64_t numel(int i)
{
    return ndims[i] == 2 ? shapes[i][0] * shapes[i][1] : shapes[i][0];
}

static float value(int i, uint64_t k) { return (float)(i + 1) * 0.01f * (float)k; }

/* Tensor bytes on demand: fc2.weight, chunk by chunk (little-endian F32). */
static int fill_fc2(void *user, uint64_t offset, void *buf, size_t len)
{
    (void)user;
    float *out = buf; /* offsets and lengths are whole elements here */
    for (size_t j = 0; j < len / 4; j++)
        out[j] = value(2, offset / 4 + j);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s OUT.pth [--force]\n", argv[0]);
        return 2;
    }
    mft_writer_options opts;
    memset(&opts, 0, sizeof opts);
    opts.overwrite = argc > 2 && strcmp(argv[2], "--force") == 0;
    mft_writer *w = NULL;
    mft_status st = mft_writer_open(argv[1], MFT_FORMAT_PYTORCH_ZIP, &opts, &w);
    if (st != MFT_OK) {
        fprintf(stderr, "%s: %s\n", mft_errname(st),
                w ? mft_writer_errmsg(w) : mft_strerror(st));
        mft_writer_free(w);
        return 1;
    }

    /* Tensor bytes: buffers that must stay valid until commit (or a
     * callback). Names are the writer's handles for them. */
    float *param[NPARAMS], *avg[NPARAMS], *avg_sq[NPARAMS];
    float step = 5.0f;
    for (int i = 0; i < NPARAMS; i++) {
        uint64_t n = numel(i);
        param[i] = malloc(n * sizeof(float));
        avg[i] = malloc(n * sizeof(float));
        avg_sq[i] = malloc(n * sizeof(float));
        if (!param[i] || !avg[i] || !avg_sq[i]) {
            fprintf(stderr, "out of memory\n");
            return 1;
        }
        for (uint64_t k = 0; k < n; k++) {
            param[i][k] = value(i, k);
            avg[i][k] = value(i, k) / 10;
            avg_sq[i][k] = value(i, k) * value(i, k);
        }
        char name[64];
        if (i == 2)
            mft_writer_add_tensor_cb(w, names[i], MFT_F32, ndims[i],
                                     shapes[i], fill_fc2, NULL);
        else
            mft_writer_add_tensor(w, names[i], MFT_F32, ndims[i], shapes[i],
                                  param[i], n * sizeof(float));
        snprintf(name, sizeof name, "state.%d.step", i);
        mft_writer_add_tensor(w, name, MFT_F32, 0, NULL, &step, sizeof step);
        snprintf(name, sizeof name, "state.%d.exp_avg", i);
        mft_writer_add_tensor(w, name, MFT_F32, ndims[i], shapes[i], avg[i],
                              n * sizeof(float));
        snprintf(name, sizeof name, "state.%d.exp_avg_sq", i);
        mft_writer_add_tensor(w, name, MFT_F32, ndims[i], shapes[i],
                              avg_sq[i], n * sizeof(float));
    }

    /* The value tree. Builders return NULL on failure and the writer keeps
     * the first message: checking once, at commit, is enough. */
    mft_node *model = mft_node_dict(w, 1); /* OrderedDict, as state_dict() */
    for (int i = 0; i < NPARAMS; i++)
        mft_node_set_str(model, names[i], mft_node_tensor(w, names[i]));

    mft_node *state = mft_node_dict(w, 0);
    mft_node *params = mft_node_list(w);
    for (int i = 0; i < NPARAMS; i++) {
        char name[64];
        mft_node *s = mft_node_dict(w, 0);
        snprintf(name, sizeof name, "state.%d.step", i);
        mft_node_set_str(s, "step", mft_node_tensor(w, name));
        snprintf(name, sizeof name, "state.%d.exp_avg", i);
        mft_node_set_str(s, "exp_avg", mft_node_tensor(w, name));
        snprintf(name, sizeof name, "state.%d.exp_avg_sq", i);
        mft_node_set_str(s, "exp_avg_sq", mft_node_tensor(w, name));
        mft_node_set(state, mft_node_int(w, i), s); /* int keys */
        mft_node_append(params, mft_node_int(w, i));
    }
    mft_node *betas = mft_node_tuple(w);
    mft_node_append(betas, mft_node_float(w, 0.9));
    mft_node_append(betas, mft_node_float(w, 0.999));
    mft_node *group = mft_node_dict(w, 0);
    mft_node_set_str(group, "lr", mft_node_float(w, 0.001));
    mft_node_set_str(group, "betas", betas);
    mft_node_set_str(group, "eps", mft_node_float(w, 1e-8));
    mft_node_set_str(group, "weight_decay", mft_node_int(w, 0));
    mft_node_set_str(group, "amsgrad", mft_node_bool(w, 0));
    mft_node_set_str(group, "params", params);
    mft_node *groups = mft_node_list(w);
    mft_node_append(groups, group);
    mft_node *optim = mft_node_dict(w, 0);
    mft_node_set_str(optim, "state", state);
    mft_node_set_str(optim, "param_groups", groups);

    mft_node *losses = mft_node_list(w);
    mft_node_append(losses, mft_node_float(w, 2.5));
    mft_node_append(losses, mft_node_float(w, 1.25));
    mft_node_append(losses, mft_node_float(w, 0.625));

    mft_node *root = mft_node_dict(w, 0);
    mft_node_set_str(root, "epoch", mft_node_int(w, 5));
    mft_node_set_str(root, "model_state_dict", model);
    mft_node_set_str(root, "optimizer_state_dict", optim);
    mft_node_set_str(root, "losses", losses);
    mft_writer_set_root(w, root);

    /* Streams every tensor into a temporary file, fsyncs, renames. */
    st = mft_writer_commit(w);
    if (st != MFT_OK)
        fprintf(stderr, "%s: %s\n", mft_errname(st), mft_writer_errmsg(w));
    else
        printf("wrote %s\n", argv[1]);
    mft_writer_free(w); /* frees every node too */
    for (int i = 0; i < NPARAMS; i++) {
        free(param[i]);
        free(avg[i]);
        free(avg_sq[i]);
    }
    return st == MFT_OK ? 0 : 1;
}
