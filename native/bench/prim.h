/* Builds and runs oneDNN primitives the way Lipa's org.lipa.backend.cpu.Primitive does, so that the C
 * baselines execute the same oneDNN calls: memory descriptors with explicit strides, a user-managed
 * scratchpad, and (for convolutions) oneDNN's preferred layouts with reorders to and from the caller's
 * row-major buffers around every execution. Each execution re-points the user memories
 * (dnnl_memory_set_data_handle), executes, and waits on the stream, as Primitive.execute does. */
#ifndef LIPA_BENCH_PRIM_H
#define LIPA_BENCH_PRIM_H

#include <oneapi/dnnl/dnnl.h>

#include "common.h"

enum { MAX_ARGS = 8, MAX_STEPS = 8 };

/* One primitive with its argument array. */
typedef struct {
    dnnl_primitive_t prim;
    int nargs;
    dnnl_exec_arg_t args[MAX_ARGS];
} step_t;

/* An op: input reorders, the primitive, output reorders; and the user memories re-pointed per run. */
typedef struct {
    int nsteps;
    step_t steps[MAX_STEPS];
    int nuser;
    dnnl_memory_t user[MAX_ARGS];
    void *ptr[MAX_ARGS];
    int nowned;
    dnnl_memory_t owned[2 * MAX_ARGS]; /* every memory object created, destroyed by op_destroy */
    void *buffers[MAX_ARGS];           /* buffers of oneDNN-chosen layouts and the scratchpad */
    int nbuffers;
} op_t;

/* A row-major descriptor given by dims, with strides (Lipa describes every tensor by its strides). */
static dnnl_memory_desc_t md_strided(int rank, const dnnl_dim_t *dims, const dnnl_dim_t *strides) {
    dnnl_dims_t d = {0}, s = {0}; /* full-size copies: the API takes dnnl_dims_t */
    memcpy(d, dims, (size_t)rank * sizeof(dnnl_dim_t));
    memcpy(s, strides, (size_t)rank * sizeof(dnnl_dim_t));
    dnnl_memory_desc_t md;
    CHECK(dnnl_memory_desc_create_with_strides(&md, rank, d, dnnl_f32, s));
    return md;
}

static dnnl_memory_desc_t md_plain(int rank, const dnnl_dim_t *dims) {
    dnnl_dims_t strides;
    dnnl_dim_t s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        strides[i] = s;
        s *= dims[i];
    }
    return md_strided(rank, dims, strides);
}

static dnnl_memory_desc_t md_any(int rank, const dnnl_dim_t *dims) {
    dnnl_dims_t d = {0};
    memcpy(d, dims, (size_t)rank * sizeof(dnnl_dim_t));
    dnnl_memory_desc_t md;
    CHECK(dnnl_memory_desc_create_with_tag(&md, rank, d, dnnl_f32, dnnl_format_tag_any));
    return md;
}

/* Attributes as Lipa sets them: a user-managed scratchpad (destroy after creating the descriptor). */
static dnnl_primitive_attr_t attr_user_scratchpad(void) {
    dnnl_primitive_attr_t attr;
    CHECK(dnnl_primitive_attr_create(&attr));
    CHECK(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user));
    return attr;
}

static int is_output(int kind) {
    return kind == DNNL_ARG_DST || kind == DNNL_ARG_DIFF_SRC || kind == DNNL_ARG_DIFF_WEIGHTS || kind == DNNL_ARG_DIFF_BIAS;
}

static step_t reorder_step(dnnl_engine_t eng, const_dnnl_memory_desc_t from_md, dnnl_memory_t from,
                           const_dnnl_memory_desc_t to_md, dnnl_memory_t to) {
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_reorder_primitive_desc_create(&pd, from_md, eng, to_md, eng, NULL));
    step_t s = {0};
    CHECK(dnnl_primitive_create(&s.prim, pd));
    CHECK(dnnl_primitive_desc_destroy(pd));
    s.nargs = 2;
    s.args[0] = (dnnl_exec_arg_t){DNNL_ARG_FROM, from};
    s.args[1] = (dnnl_exec_arg_t){DNNL_ARG_TO, to};
    return s;
}

/* Creates the op from pd (destroyed here): argument i has kind kinds[i], our layout user_mds[i] (NULL:
 * whatever the primitive wants, such as a workspace) and data ptrs[i]. With reorder, an argument whose
 * layout the primitive chose differently gets its own buffer and a reorder, as in Lipa. */
static void op_create(dnnl_engine_t eng, dnnl_primitive_desc_t pd, int n, const int *kinds,
                      dnnl_memory_desc_t const *user_mds, void *const *ptrs, int reorder, op_t *op) {
    memset(op, 0, sizeof(*op));
    step_t main = {0};
    CHECK(dnnl_primitive_create(&main.prim, pd));
    step_t pre[MAX_ARGS], post[MAX_ARGS];
    int npre = 0, npost = 0;
    for (int i = 0; i < n; i++) {
        const_dnnl_memory_desc_t chosen = dnnl_primitive_desc_query_md(pd, dnnl_query_exec_arg_md, kinds[i]);
        dnnl_memory_t mem;
        if (user_mds[i] == NULL) {
            CHECK(dnnl_memory_create(&mem, chosen, eng, DNNL_MEMORY_ALLOCATE));
        } else if (reorder && chosen != NULL && !dnnl_memory_desc_equal(chosen, user_mds[i])) {
            void *buf = NULL;
            if (posix_memalign(&buf, 64, dnnl_memory_desc_get_size(chosen) + 64) != 0) exit(1);
            op->buffers[op->nbuffers++] = buf;
            CHECK(dnnl_memory_create(&mem, chosen, eng, buf));
            dnnl_memory_t user;
            CHECK(dnnl_memory_create(&user, user_mds[i], eng, ptrs[i]));
            op->owned[op->nowned++] = user;
            op->user[op->nuser] = user;
            op->ptr[op->nuser++] = ptrs[i];
            if (is_output(kinds[i])) {
                post[npost++] = reorder_step(eng, chosen, mem, user_mds[i], user);
            } else {
                pre[npre++] = reorder_step(eng, user_mds[i], user, chosen, mem);
            }
        } else {
            CHECK(dnnl_memory_create(&mem, user_mds[i], eng, ptrs[i]));
            op->user[op->nuser] = mem;
            op->ptr[op->nuser++] = ptrs[i];
        }
        op->owned[op->nowned++] = mem;
        main.args[main.nargs++] = (dnnl_exec_arg_t){kinds[i], mem};
    }
    const_dnnl_memory_desc_t scratch = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t scratch_bytes = scratch ? dnnl_memory_desc_get_size(scratch) : 0;
    if (scratch_bytes > 0) {
        void *buf = NULL;
        if (posix_memalign(&buf, 64, scratch_bytes) != 0) exit(1);
        op->buffers[op->nbuffers++] = buf;
        dnnl_memory_t mem;
        CHECK(dnnl_memory_create(&mem, scratch, eng, buf));
        op->owned[op->nowned++] = mem;
        main.args[main.nargs++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, mem};
    }
    CHECK(dnnl_primitive_desc_destroy(pd));
    for (int i = 0; i < npre; i++) op->steps[op->nsteps++] = pre[i];
    op->steps[op->nsteps++] = main;
    for (int i = 0; i < npost; i++) op->steps[op->nsteps++] = post[i];
}

/* One execution, as Lipa's Primitive.execute: re-point, run the steps, wait. */
static void op_run(dnnl_stream_t stream, op_t *op) {
    for (int i = 0; i < op->nuser; i++) CHECK(dnnl_memory_set_data_handle(op->user[i], op->ptr[i]));
    for (int i = 0; i < op->nsteps; i++)
        CHECK(dnnl_primitive_execute(op->steps[i].prim, stream, op->steps[i].nargs, op->steps[i].args));
    CHECK(dnnl_stream_wait(stream));
}

/* Destroys the primitives, the memory objects and the buffers the op allocated (not the caller's). */
static void op_destroy(op_t *op) {
    for (int i = 0; i < op->nsteps; i++) CHECK(dnnl_primitive_destroy(op->steps[i].prim));
    for (int i = 0; i < op->nowned; i++) CHECK(dnnl_memory_destroy(op->owned[i]));
    for (int i = 0; i < op->nbuffers; i++) free(op->buffers[i]);
    memset(op, 0, sizeof(*op));
}

#endif
