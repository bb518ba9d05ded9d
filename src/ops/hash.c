/* Tensor digests (DESIGN.md §3): SHA-256 over the row-major little-endian
 * element bytes, through OpenSSL's EVP interface (which picks the SHA-NI or
 * AVX2 code path for this CPU). One EVP context per call, so several threads
 * may hash different tensors of one handle at once. */
#include "../core/internal.h"
#include <openssl/evp.h>

static int feed(void *user, const void *bytes, size_t len)
{
    return EVP_DigestUpdate((EVP_MD_CTX *)user, bytes, len) == 1 ? 0 : 1;
}

mft_status mft_tensor_sha256(mft_file *f, size_t index,
                             unsigned char digest[32])
{
    if (!f || !digest)
        return MFT_ERR_MISUSE;
    if (index >= f->ntensors)
        return MFT_ERR_NOT_FOUND;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx)
        return MFT_ERR_NOMEM;
    mft_status st = MFT_OK;
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
        st = MFT_ERR_NOMEM;
    const mftc_tensor *t = &f->tensors[index];
    if (t->kind)
        st = MFT_ERR_UNSUPPORTED;
    if (st == MFT_OK) {
        if (t->data || t->nbytes == 0) {
            /* Direct walk: no handle state is touched, so this is safe to
             * run concurrently on one handle. */
            uint64_t done = 0;
            while (done < t->nbytes && st == MFT_OK) {
                uint64_t n = t->nbytes - done;
                if (n > MFT_STREAM_CHUNK)
                    n = MFT_STREAM_CHUNK;
                if (n == MFT_STREAM_CHUNK && t->src)
                    mftc_source_willneed(t->src,
                                         (uint64_t)(t->data + done + n -
                                                    t->src->data),
                                         MFT_STREAM_CHUNK);
                if (feed(ctx, t->data + done, (size_t)n))
                    st = MFT_ERR_NOMEM;
                mftc_source_done(t->src, t->data + done, n);
                done += n;
            }
        } else {
            st = mft_tensor_stream(f, index, feed, ctx);
        }
    }
    unsigned int len = 0;
    if (st == MFT_OK && EVP_DigestFinal_ex(ctx, digest, &len) != 1)
        st = MFT_ERR_NOMEM;
    EVP_MD_CTX_free(ctx);
    return st;
}
