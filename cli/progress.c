/* A progress line on stderr for long whole-file passes (stats, diff): shown
 * only when stderr is a terminal and the pass is large, redrawn in place,
 * erased when done, so stdout and redirected stderr never see it. */
#include "cli.h"
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PROGRESS_MIN_BYTES (256ull << 20) /* smaller passes finish too soon */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void cli_progress_start(cli_progress *p, const char *label, uint64_t total)
{
    memset(p, 0, sizeof *p);
    p->label = label;
    p->total = total;
    p->on = total >= PROGRESS_MIN_BYTES && isatty(STDERR_FILENO);
    p->start = now_s();
}

void cli_progress_update(void *user, uint64_t done, uint64_t total)
{
    cli_progress *p = user;
    if (!p->on || !total)
        return;
    if (done > total)
        done = total;
    int width = 30, fill = (int)((double)done / (double)total * width);
    char bar[64], a[32], b[32];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = 0;
    human_bytes(done, a, sizeof a);
    human_bytes(total, b, sizeof b);
    double dt = now_s() - p->start;
    fprintf(stderr, "\r%s [%s] %3d%%  %s / %s  %.2f GB/s\033[K", p->label, bar,
            (int)(100.0 * (double)done / (double)total), a, b,
            dt > 0 ? (double)done / dt / 1e9 : 0.0);
    fflush(stderr);
    p->drawn = 1;
}

void cli_progress_end(cli_progress *p)
{
    if (p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    p->drawn = 0;
}
