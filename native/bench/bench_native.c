/* libbench_native.so: the native side of the downcall benchmarks, built only for the benchmark.
 *
 * - lipa_bench_noop: an empty function (no oneDNN), the cost of a call and nothing else;
 * - lipa_bench_exec: one execution of a prebuilt primitive, exactly the calls Lipa's Primitive.execute
 *   makes through Panama (re-point each memory, execute, wait on the stream);
 * - lipa_bench_sgemm: the dnnl_sgemm call Lipa's DnnlMatmul makes for a plain f32 matrix product;
 * - Java_org_lipa_bench_JniBaseline_*: the same three behind JNI, the baseline a JNI-based JVM library
 *   would pay. Lipa itself never uses JNI; only the benchmark loads this library.
 *
 * The C floor (downcall.c) calls the same functions from a C loop. */
#include <jni.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdint.h>

#define EXPORT __attribute__((visibility("default"), noinline))

EXPORT void lipa_bench_noop(void) {
    __asm__ volatile("" ::: "memory"); /* keeps the call from being folded away */
}

EXPORT int lipa_bench_exec(dnnl_primitive_t prim, dnnl_stream_t stream, int nmem, dnnl_memory_t const *mems,
                           void *const *ptrs, int nargs, const dnnl_exec_arg_t *args) {
    for (int i = 0; i < nmem; i++) {
        dnnl_status_t st = dnnl_memory_set_data_handle(mems[i], ptrs[i]);
        if (st != dnnl_success) return st;
    }
    dnnl_status_t st = dnnl_primitive_execute(prim, stream, nargs, args);
    if (st != dnnl_success) return st;
    return dnnl_stream_wait(stream);
}

EXPORT int lipa_bench_sgemm(int64_t m, int64_t n, int64_t k, const float *a, const float *b, float *c) {
    return dnnl_sgemm('N', 'N', m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
}

JNIEXPORT void JNICALL Java_org_lipa_bench_JniBaseline_noop(JNIEnv *env, jclass cls) {
    (void)env;
    (void)cls;
    lipa_bench_noop();
}

/* Handles and arrays come as native addresses (as a JNI library keeping native handles in longs does). */
JNIEXPORT jint JNICALL Java_org_lipa_bench_JniBaseline_exec(JNIEnv *env, jclass cls, jlong prim, jlong stream, jint nmem,
                                                           jlong mems, jlong ptrs, jint nargs, jlong args) {
    (void)env;
    (void)cls;
    return lipa_bench_exec((dnnl_primitive_t)(intptr_t)prim, (dnnl_stream_t)(intptr_t)stream, nmem,
                           (dnnl_memory_t const *)(intptr_t)mems, (void *const *)(intptr_t)ptrs, nargs,
                           (const dnnl_exec_arg_t *)(intptr_t)args);
}

JNIEXPORT jint JNICALL Java_org_lipa_bench_JniBaseline_sgemm(JNIEnv *env, jclass cls, jlong m, jlong n, jlong k, jlong a,
                                                            jlong b, jlong c) {
    (void)env;
    (void)cls;
    return lipa_bench_sgemm(m, n, k, (const float *)(intptr_t)a, (const float *)(intptr_t)b, (float *)(intptr_t)c);
}
