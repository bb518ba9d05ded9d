/* A tiny unit-test harness: each test is a function; CHECK records the first
 * failure of the running test; RUN prints "ok NAME" or "FAIL NAME: why", and
 * unit_summary() prints the line tests/run.py parses. */
#ifndef MFT_UNIT_H
#define MFT_UNIT_H
#include <stdio.h>
#include <string.h>

static int unit_passed, unit_failed, unit_current_failed;
static char unit_reason[512];

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond) && !unit_current_failed) {                                \
            unit_current_failed = 1;                                          \
            snprintf(unit_reason, sizeof unit_reason, "%s:%d: %s", __FILE__,  \
                     __LINE__, #cond);                                        \
        }                                                                     \
    } while (0)

#define CHECKF(cond, ...)                                                     \
    do {                                                                      \
        if (!(cond) && !unit_current_failed) {                                \
            int unit_n_ = snprintf(unit_reason, sizeof unit_reason,           \
                                   "%s:%d: ", __FILE__, __LINE__);            \
            snprintf(unit_reason + unit_n_, sizeof unit_reason - unit_n_,     \
                     __VA_ARGS__);                                            \
            unit_current_failed = 1;                                          \
        }                                                                     \
    } while (0)

#define RUN(fn)                                                               \
    do {                                                                      \
        unit_current_failed = 0;                                              \
        fn();                                                                 \
        if (unit_current_failed) {                                            \
            unit_failed++;                                                    \
            printf("FAIL %s: %s\n", #fn, unit_reason);                        \
        } else {                                                              \
            unit_passed++;                                                    \
            printf("ok %s\n", #fn);                                           \
        }                                                                     \
    } while (0)

static int unit_summary(void)
{
    printf("unit: %d passed, %d failed\n", unit_passed, unit_failed);
    return unit_failed ? 1 : 0;
}
#endif
