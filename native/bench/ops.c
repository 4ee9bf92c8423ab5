/* C-direct oneDNN baselines of the op-throughput figures (OpBench): each figure makes the oneDNN calls
 * Lipa's CPU backend makes for that op (same primitive kind, propagation kind, descriptors, attributes,
 * reorders), from C, so that Lipa / C-direct measures what Java and Panama add.
 *
 *   ops [figure...]     (no figure: all of them)
 *
 * Prints one JSON line per figure: {"source":"c-direct","figure":...,"ms":...,"create_ms":...,"first_ms":...,"impl":...};
 * create_ms is the time to create the primitive(s) with oneDNN's own primitive cache disabled, first_ms that
 * plus the first execution (medians of 5). */
#include <oneapi/dnnl/dnnl.h>

#include "common.h"
#include "prim.h"

static dnnl_engine_t eng;
static dnnl_stream_t stream;

/* A figure: builds its op over buffers it allocates once (build is called again to time creation). */
typedef struct figure figure;
struct figure {
    const char *name;
    long m, k, n;                     /* matmul figures: dnnl_sgemm, no primitive */
    void (*build)(figure *f, op_t *op, char *impl);
    float *buf[6];
};

static void impl_of(dnnl_primitive_desc_t pd, char *impl) {
    const char *s = NULL;
    CHECK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s));
    snprintf(impl, 64, "%s", s ? s : "?");
}

static float *buffer(figure *f, int i, size_t n) {
    if (f->buf[i] == NULL) f->buf[i] = alloc_floats(n);
    return f->buf[i];
}

/* ---- convolution, batch 32, 64 -> 64 channels, 3x3, 32x32, stride 1, padding 1 (output 32x32) ---- */
enum { CN = 32, CC = 64, CO = 64, CH = 32, CW = 32, CK = 3 };
static const dnnl_dims_t conv_strides = {1, 1}, conv_dil = {0, 0}, conv_pad = {1, 1}; /* dnnl_dims_t: the API reads 12 */

static void conv_fwd(figure *f, op_t *op, char *impl) {
    dnnl_dim_t xd[4] = {CN, CC, CH, CW}, wd[4] = {CO, CC, CK, CK}, yd[4] = {CN, CO, CH, CW};
    dnnl_memory_desc_t user[3] = {md_plain(4, xd), md_plain(4, wd), md_plain(4, yd)};
    dnnl_memory_desc_t any[3] = {md_any(4, xd), md_any(4, wd), md_any(4, yd)};
    dnnl_primitive_attr_t attr = attr_user_scratchpad();
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_convolution_forward_primitive_desc_create(&pd, eng, dnnl_forward_inference, dnnl_convolution_direct, any[0],
                                                         any[1], NULL, any[2], conv_strides, conv_dil, conv_pad, conv_pad,
                                                         attr));
    impl_of(pd, impl);
    int kinds[3] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST};
    void *ptrs[3] = {buffer(f, 0, CN * CC * CH * CW), buffer(f, 1, CO * CC * CK * CK), buffer(f, 2, CN * CO * CH * CW)};
    op_create(eng, pd, 3, kinds, user, ptrs, 1, op);
    for (int i = 0; i < 3; i++) CHECK(dnnl_memory_desc_destroy(user[i]));
    for (int i = 0; i < 3; i++) CHECK(dnnl_memory_desc_destroy(any[i]));
    CHECK(dnnl_primitive_attr_destroy(attr));
}

/* Lipa's backward-data of a convolution is a transposed convolution of the output gradient with the same
 * weights: oneDNN's deconvolution forward, the [O, C, kh, kw] weights described as [C, O, kh, kw] by strides. */
static void conv_bwd_data(figure *f, op_t *op, char *impl) {
    dnnl_dim_t gd[4] = {CN, CO, CH, CW}, wd[4] = {CC, CO, CK, CK}, ws[4] = {CK * CK, CC * CK * CK, CK, 1},
               xd[4] = {CN, CC, CH, CW};
    dnnl_memory_desc_t user[3] = {md_plain(4, gd), md_strided(4, wd, ws), md_plain(4, xd)};
    dnnl_memory_desc_t any[3] = {md_any(4, gd), md_any(4, wd), md_any(4, xd)};
    dnnl_primitive_attr_t attr = attr_user_scratchpad();
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_deconvolution_forward_primitive_desc_create(&pd, eng, dnnl_forward_inference, dnnl_deconvolution_direct,
                                                           any[0], any[1], NULL, any[2], conv_strides, conv_dil, conv_pad,
                                                           conv_pad, attr));
    impl_of(pd, impl);
    int kinds[3] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST};
    void *ptrs[3] = {buffer(f, 0, CN * CO * CH * CW), buffer(f, 1, CO * CC * CK * CK), buffer(f, 2, CN * CC * CH * CW)};
    op_create(eng, pd, 3, kinds, user, ptrs, 1, op);
    for (int i = 0; i < 3; i++) CHECK(dnnl_memory_desc_destroy(user[i]));
    for (int i = 0; i < 3; i++) CHECK(dnnl_memory_desc_destroy(any[i]));
    CHECK(dnnl_primitive_attr_destroy(attr));
}

/* Backward-weights with the forward (training) convolution as hint, oneDNN's layouts and reorders. */
static void conv_bwd_weights(figure *f, op_t *op, char *impl) {
    dnnl_dim_t xd[4] = {CN, CC, CH, CW}, gd[4] = {CN, CO, CH, CW}, wd[4] = {CO, CC, CK, CK};
    dnnl_memory_desc_t user[3] = {md_plain(4, xd), md_plain(4, gd), md_plain(4, wd)};
    dnnl_memory_desc_t any[3] = {md_any(4, xd), md_any(4, gd), md_any(4, wd)};
    dnnl_primitive_attr_t attr = attr_user_scratchpad();
    dnnl_primitive_desc_t hint, pd;
    CHECK(dnnl_convolution_forward_primitive_desc_create(&hint, eng, dnnl_forward_training, dnnl_convolution_direct, any[0],
                                                         any[2], NULL, any[1], conv_strides, conv_dil, conv_pad, conv_pad,
                                                         attr));
    CHECK(dnnl_convolution_backward_weights_primitive_desc_create(&pd, eng, dnnl_convolution_direct, any[0], any[2], NULL,
                                                                  any[1], conv_strides, conv_dil, conv_pad, conv_pad, hint,
                                                                  attr));
    CHECK(dnnl_primitive_desc_destroy(hint));
    impl_of(pd, impl);
    int kinds[3] = {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS};
    void *ptrs[3] = {buffer(f, 0, CN * CC * CH * CW), buffer(f, 1, CN * CO * CH * CW), buffer(f, 2, CO * CC * CK * CK)};
    op_create(eng, pd, 3, kinds, user, ptrs, 1, op);
    for (int i = 0; i < 3; i++) CHECK(dnnl_memory_desc_destroy(user[i]));
    for (int i = 0; i < 3; i++) CHECK(dnnl_memory_desc_destroy(any[i]));
    CHECK(dnnl_primitive_attr_destroy(attr));
}

/* ---- layer norm and softmax on 128 x 4096 ---- */
enum { RN = 128, RC = 4096 };

/* Layer norm with scale and shift (forward training: mean and variance written), as Lipa's DnnlNorm. */
static void layer_norm(figure *f, op_t *op, char *impl) {
    dnnl_dim_t xd[2] = {RN, RC}, sd[1] = {RN}, cd[1] = {RC};
    dnnl_memory_desc_t md[6] = {md_plain(2, xd), md_plain(2, xd), md_plain(1, sd), md_plain(1, sd), md_plain(1, cd),
                                md_plain(1, cd)};
    dnnl_primitive_attr_t attr = attr_user_scratchpad();
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_layer_normalization_forward_primitive_desc_create(&pd, eng, dnnl_forward_training, md[0], md[1], md[2],
                                                                 1e-5f, dnnl_use_scale | dnnl_use_shift, attr));
    impl_of(pd, impl);
    int kinds[6] = {DNNL_ARG_SRC, DNNL_ARG_DST, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE, DNNL_ARG_SCALE, DNNL_ARG_SHIFT};
    void *ptrs[6] = {buffer(f, 0, RN * RC), buffer(f, 1, RN * RC), buffer(f, 2, RN), buffer(f, 3, RN), buffer(f, 4, RC),
                     buffer(f, 5, RC)};
    op_create(eng, pd, 6, kinds, md, ptrs, 0, op);
    for (int i = 0; i < 6; i++) CHECK(dnnl_memory_desc_destroy(md[i]));
    CHECK(dnnl_primitive_attr_destroy(attr));
}

static void softmax(figure *f, op_t *op, char *impl) {
    dnnl_dim_t xd[2] = {RN, RC};
    dnnl_memory_desc_t md[2] = {md_plain(2, xd), md_plain(2, xd)};
    dnnl_primitive_attr_t attr = attr_user_scratchpad();
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_softmax_forward_primitive_desc_create(&pd, eng, dnnl_forward_inference, dnnl_softmax_accurate, md[0], md[1],
                                                     1, attr));
    impl_of(pd, impl);
    int kinds[2] = {DNNL_ARG_SRC, DNNL_ARG_DST};
    void *ptrs[2] = {buffer(f, 0, RN * RC), buffer(f, 1, RN * RC)};
    op_create(eng, pd, 2, kinds, md, ptrs, 0, op);
    for (int i = 0; i < 2; i++) CHECK(dnnl_memory_desc_destroy(md[i]));
    CHECK(dnnl_primitive_attr_destroy(attr));
}

static figure figures[] = {
    {"matmul64", 64, 64, 64},
    {"matmul256", 256, 256, 256},
    {"matmul1024", 1024, 1024, 1024},
    {"matmul2048", 2048, 2048, 2048},
    {"matmul128x784x512", 128, 784, 512},
    {"conv_fwd", 0, 0, 0, conv_fwd},
    {"conv_bwd_data", 0, 0, 0, conv_bwd_data},
    {"conv_bwd_weights", 0, 0, 0, conv_bwd_weights},
    {"layer_norm", 0, 0, 0, layer_norm},
    {"softmax", 0, 0, 0, softmax},
};

static void run_op(void *p) {
    op_run(stream, p);
}

static void run_sgemm(void *p) {
    figure *f = p;
    /* row-major C = A B, as Lipa's DnnlMatmul.sgemm for contiguous operands */
    CHECK(dnnl_sgemm('N', 'N', f->m, f->n, f->k, 1.0f, f->buf[0], f->k, f->buf[1], f->n, 0.0f, f->buf[2], f->n));
}

static void measure(figure *f) {
    if (f->build == NULL) {
        buffer(f, 0, (size_t)(f->m * f->k));
        buffer(f, 1, (size_t)(f->k * f->n));
        buffer(f, 2, (size_t)(f->m * f->n));
        double s = time_median(run_sgemm, f);
        printf("{\"source\":\"c-direct\",\"figure\":\"%s\",\"ms\":%.6f,\"impl\":\"dnnl_sgemm\"}\n", f->name, s * 1e3);
        fflush(stdout);
        return;
    }
    char impl[64];
    /* creation, with oneDNN's primitive cache off so every creation really creates (JIT included); and
     * creation plus the first execution, which is what Lipa's PrimitiveCreationBench can time */
    enum { CREATIONS = 5 };
    double create[CREATIONS], first[CREATIONS];
    op_t op;
    for (int i = 0; i < CREATIONS; i++) {
        double t0 = now_s();
        f->build(f, &op, impl);
        create[i] = now_s() - t0;
        op_run(stream, &op);
        first[i] = now_s() - t0;
        op_destroy(&op);
    }
    qsort(create, CREATIONS, sizeof(double), cmp_double);
    qsort(first, CREATIONS, sizeof(double), cmp_double);
    f->build(f, &op, impl);
    double s = time_median(run_op, &op);
    op_destroy(&op);
    printf("{\"source\":\"c-direct\",\"figure\":\"%s\",\"ms\":%.6f,\"create_ms\":%.4f,\"first_ms\":%.4f,\"impl\":\"%s\"}\n",
           f->name, s * 1e3, create[CREATIONS / 2] * 1e3, first[CREATIONS / 2] * 1e3, impl);
    fflush(stdout);
}

int main(int argc, char **argv) {
    CHECK(dnnl_set_primitive_cache_capacity(0));
    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&stream, eng, dnnl_stream_default_flags));
    int n = (int)(sizeof(figures) / sizeof(figures[0]));
    for (int i = 0; i < n; i++) {
        int wanted = argc == 1;
        for (int a = 1; a < argc; a++) wanted |= strcmp(argv[a], figures[i].name) == 0;
        if (wanted) measure(&figures[i]);
    }
    CHECK(dnnl_stream_destroy(stream));
    CHECK(dnnl_engine_destroy(eng));
    return 0;
}
