/* Shared helpers of the C baselines: oneDNN status checks, a monotonic clock, a timing loop that
 * reports the median of several batches, and one JSON object per line on stdout for the results writer. */
#ifndef LIPA_BENCH_COMMON_H
#define LIPA_BENCH_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(call)                                                                       \
    do {                                                                                  \
        dnnl_status_t st_ = (call);                                                       \
        if (st_ != dnnl_success) {                                                        \
            fprintf(stderr, "%s:%d: %s failed with status %d\n", __FILE__, __LINE__, #call, \
                    (int)st_);                                                            \
            exit(1);                                                                      \
        }                                                                                 \
    } while (0)

static inline double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Seconds of measurement per figure: BENCH_SECONDS (default 2), split into batches; warmup is a quarter of it. */
static inline double bench_seconds(void) {
    const char *s = getenv("BENCH_SECONDS");
    double v = s ? atof(s) : 2.0;
    return v > 0 ? v : 2.0;
}

__attribute__((unused)) static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Times fn(ctx) and returns the median over batches of the mean seconds per call. Each batch is sized
 * to last about a tenth of the budget, so timer resolution does not matter even for 2 ns calls. */
__attribute__((unused)) static double time_median(void (*fn)(void *), void *ctx) {
    double budget = bench_seconds();
    /* warmup, and an estimate of one call's duration */
    long calls = 0;
    double t0 = now_s(), t;
    do {
        fn(ctx);
        calls++;
    } while ((t = now_s()) - t0 < budget / 4);
    double per = (t - t0) / (double)calls;
    long batch = (long)(budget / 10 / per);
    if (batch < 1) batch = 1;
    enum { MAX_BATCHES = 1000 };
    double means[MAX_BATCHES];
    int n = 0;
    double end = now_s() + budget;
    do {
        double b0 = now_s();
        for (long i = 0; i < batch; i++) fn(ctx);
        means[n++] = (now_s() - b0) / (double)batch;
    } while (n < 3 || (n < MAX_BATCHES && now_s() < end));
    qsort(means, (size_t)n, sizeof(double), cmp_double);
    return means[n / 2];
}

/* Fills a buffer with a fixed pseudo-random sequence in [-1, 1) (no libc rand state). */
static inline void fill(float *p, size_t n, unsigned seed) {
    unsigned s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (float)((s >> 8) * (1.0 / 8388608.0)) - 1.0f;
    }
}

static inline float *alloc_floats(size_t n) {
    void *p = NULL;
    if (posix_memalign(&p, 64, n * sizeof(float) + 64) != 0) {
        fprintf(stderr, "out of memory (%zu floats)\n", n);
        exit(1);
    }
    fill((float *)p, n, (unsigned)n);
    return (float *)p;
}

#endif
