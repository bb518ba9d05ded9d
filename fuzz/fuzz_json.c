/* libFuzzer target: the strict JSON parser used for headers and indexes. */
#include "core/internal.h"
#include "core/json.h"
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (mftc_utf8_check(data, size) != size)
        return 0;
    mftc_arena arena = {0};
    mftc_json_error err;
    mftc_json *root = mftc_json_parse(&arena, (const char *)data, size, 0, 64,
                                      &err);
    if (!root && err.msg[0] == 0)
        abort();
    if (root && root->type == MFTC_JSON_OBJECT)
        (void)mftc_json_get(root, "weight_map");
    mftc_arena_free(&arena);
    return 0;
}
