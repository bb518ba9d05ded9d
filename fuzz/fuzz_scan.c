/* libFuzzer target: mft_scan_memory on arbitrary bytes (pickles, zips,
 * tar, npy, legacy torch streams …), then every accessor of the report. A
 * report must always come back (an ERROR verdict at worst), with findings
 * whose strings are valid. */
#include "mft.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mft_scan_options o;
    memset(&o, 0, sizeof o);
    o.limits[MFT_LIMIT_PICKLE_ITEMS] = 1u << 16; /* keep each run small */
    o.limits[MFT_LIMIT_STRING_BYTES] = 1u << 20;
    o.limits[MFT_LIMIT_INFLATE_BYTES] = 1u << 22;
    mft_scan_report *r = NULL;
    if (mft_scan_memory(data, size, "fuzz", &o, &r) != MFT_OK || !r)
        abort();
    mft_verdict v = mft_scan_verdict(r);
    if ((unsigned)v > MFT_VERDICT_ERROR || !mft_verdict_name(v)[0])
        abort();
    if (v == MFT_VERDICT_ERROR && !mft_scan_error(r)[0])
        abort();
    int dangerous = 0;
    for (size_t i = 0; i < mft_scan_finding_count(r); i++) {
        mft_scan_finding f;
        if (mft_scan_finding_at(r, i, &f) != MFT_OK || !f.message || !f.kind)
            abort();
        dangerous |= f.severity == MFT_SEVERITY_DANGEROUS;
        (void)strlen(f.message);
        if (f.global)
            (void)strlen(f.global);
        if (f.member)
            (void)strlen(f.member);
    }
    if (dangerous != (v == MFT_VERDICT_DANGEROUS))
        abort();
    for (size_t i = 0; i < mft_scan_import_count(r); i++)
        if (!mft_scan_import_at(r, i))
            abort();
    mft_scan_report_free(r);
    return 0;
}
