/* The C floor of the downcall benchmarks (DowncallBench): the same calls as the Java side, from a C loop.
 * Prints one JSON line per figure: {"source":"c-direct","figure":...,"ns":...}. */
#include <oneapi/dnnl/dnnl.h>
#include <stdint.h>

#include "common.h"
#include "prim.h"

void lipa_bench_noop(void);
int lipa_bench_exec(dnnl_primitive_t prim, dnnl_stream_t stream, int nmem, dnnl_memory_t const *mems,
                    void *const *ptrs, int nargs, const dnnl_exec_arg_t *args);
int lipa_bench_sgemm(int64_t m, int64_t n, int64_t k, const float *a, const float *b, float *c);

static void noop(void *ctx) {
    (void)ctx;
    lipa_bench_noop();
}

typedef struct {
    dnnl_stream_t stream;
    op_t op;
} exec_ctx;

/* The primitive has no reorders, so one step: the call sequence of lipa_bench_exec. */
static void exec(void *p) {
    exec_ctx *c = p;
    step_t *s = &c->op.steps[0];
    if (lipa_bench_exec(s->prim, c->stream, c->op.nuser, c->op.user, c->op.ptr, s->nargs, s->args) != 0) exit(1);
}

typedef struct {
    float *a, *b, *c;
} gemm_ctx;

static void sgemm8(void *p) {
    gemm_ctx *g = p;
    if (lipa_bench_sgemm(8, 8, 8, g->a, g->b, g->c) != 0) exit(1);
}

static void report(const char *figure, double seconds) {
    printf("{\"source\":\"c-direct\",\"figure\":\"%s\",\"ns\":%.3f}\n", figure, seconds * 1e9);
    fflush(stdout);
}

int main(void) {
    dnnl_engine_t eng;
    dnnl_stream_t stream;
    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&stream, eng, dnnl_stream_default_flags));

    report("noop", time_median(noop, NULL));

    /* matmul 8x8x8 on the matmul primitive, as Lipa creates it (plain strided descriptors) */
    float *a = alloc_floats(64), *b = alloc_floats(64), *c = alloc_floats(64);
    dnnl_dim_t d88[2] = {8, 8};
    dnnl_memory_desc_t mds[3] = {md_plain(2, d88), md_plain(2, d88), md_plain(2, d88)};
    dnnl_primitive_attr_t attr = attr_user_scratchpad();
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_matmul_primitive_desc_create(&pd, eng, mds[0], mds[1], NULL, mds[2], attr));
    exec_ctx mm = {stream};
    int mm_kinds[3] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST};
    void *mm_ptrs[3] = {a, b, c};
    op_create(eng, pd, 3, mm_kinds, mds, mm_ptrs, 0, &mm.op);
    report("matmul8", time_median(exec, &mm));

    gemm_ctx g = {a, b, c};
    report("sgemm8", time_median(sgemm8, &g));

    /* relu on 16 floats: eltwise forward (inference), as Lipa's DnnlEltwise */
    float *x = alloc_floats(16), *y = alloc_floats(16);
    dnnl_dim_t d16[1] = {16};
    dnnl_memory_desc_t emd[2] = {md_plain(1, d16), md_plain(1, d16)};
    CHECK(dnnl_eltwise_forward_primitive_desc_create(&pd, eng, dnnl_forward_inference, dnnl_eltwise_relu, emd[0], emd[1],
                                                     0.0f, 0.0f, attr));
    exec_ctx relu = {stream};
    int e_kinds[2] = {DNNL_ARG_SRC, DNNL_ARG_DST};
    void *e_ptrs[2] = {x, y};
    op_create(eng, pd, 2, e_kinds, emd, e_ptrs, 0, &relu.op);
    report("relu16", time_median(exec, &relu));

    op_destroy(&mm.op);
    op_destroy(&relu.op);
    CHECK(dnnl_primitive_attr_destroy(attr));
    CHECK(dnnl_stream_destroy(stream));
    CHECK(dnnl_engine_destroy(eng));
    return 0;
}
