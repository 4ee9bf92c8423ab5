// Lipa's own CUDA kernels: everything the GPU backend runs that is neither cuBLAS nor cuDNN.
//
// Compiled at run time by NVRTC (org.lipa.backend.gpu.Kernels) with
//   --gpu-architecture=sm_XY -default-device --std=c++17
// so this file includes no header at all and holds no host code. The semantics of every kernel are the
// reference backend's (org.lipa.backend.ref, plain float64 loops); each kernel names the method it mirrors.
//
// ABI (the Java side packs exactly this; keep it byte-exact):
//   struct View { long long dims[8]; long long strides[8]; int rank; }   136 bytes, 8-aligned.
//     Element (i0 .. i_{rank-1}) of the logical array lives at sum(i_k * strides[k]) elements from the
//     pointer; strides are in elements and >= 0 (0 on a broadcast axis). A linear index over dims is
//     row-major (last dim fastest). rank 0 is a scalar (offset 0). Java: org.lipa.backend.gpu.View.
//   Every kernel is extern "C" __global__, named lipa_<op>_<dtype> (lipa_copy_<src>_<dst> for copies):
//     _f32  float
//     _bf16 unsigned short holding bfloat16 bits (widened exactly to float; rounded back to nearest even,
//           NaN kept a quiet NaN, as org.lipa.tensor.DType.floatToBf16 / doubleToBf16)
//     _f64  double (copies and fills only)
//   Pointers are device pointers to a tensor's first element. Counts and sizes are long long, small
//   parameters int, scalar parameters float (fill: double). Arithmetic is in float for f32 and bf16; sums
//   accumulate per thread with compensation (Neumaier) and then in a warp-shuffle tree (NORM_L2 in double).
//   Launch: any grid and any blockDim.x up to 1024 (every kernel loops grid-stride over its work and
//   holds at most 64 registers); blockDim.x must be a multiple of 32 for the kernels that reduce across
//   a block: reduce_block, norm, softmax, softmax_grad. Those take a block per output/group/row, grid-
//   stride over blockIdx.x; where that item's elements are strided in memory they take a tile of up to
//   32 neighbouring items per block instead (see Cols), which changes only speed, never the ABI.

#define LIPA_MAX_RANK 8

struct View {
    long long dims[LIPA_MAX_RANK];
    long long strides[LIPA_MAX_RANK];
    int rank;
};
static_assert(sizeof(View) == 136, "struct View must be 136 bytes (org.lipa.backend.gpu.View.BYTES)");

typedef unsigned short lipa_bf16;

// The op kinds' codes, each written out: org.lipa.backend.gpu.KernelCodes gives the same numbers for the Java
// enums (org.lipa.ops.Eltwise.Kind, Binary.Kind, Reduce.Kind), and KernelCodesTest reads this file to check
// that they agree. Never renumber a code: add new ones at the end.
enum EltwiseKind {
    ELT_RELU = 0, ELT_GELU_TANH = 1, ELT_GELU_ERF = 2, ELT_TANH = 3, ELT_SIGMOID = 4, ELT_ELU = 5, ELT_SOFTPLUS = 6,
    ELT_SWISH = 7, ELT_EXP = 8, ELT_LOG = 9, ELT_SQRT = 10, ELT_SQUARE = 11, ELT_ABS = 12, ELT_CLIP = 13, ELT_LINEAR = 14
};
enum BinaryKind { BIN_ADD = 0, BIN_SUB = 1, BIN_MUL = 2, BIN_DIV = 3, BIN_MAX = 4, BIN_MIN = 5 };
enum ReduceKind { RED_SUM = 0, RED_MEAN = 1, RED_MAX = 2, RED_MIN = 3, RED_NORM_L2 = 4 };
enum NormMode { NORM_LAYER = 0, NORM_BATCH = 1, NORM_GROUP = 2 };

#define LIPA_INF __int_as_float(0x7f800000)

// Every kernel: a C name, and at most 64 registers so that blocks of up to 1024 threads always launch.
#define LIPA_KERNEL extern "C" __global__ void __launch_bounds__(1024, 1)

#define LIPA_GRID_STRIDE(i, n)                                                    \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
         i += (long long)gridDim.x * blockDim.x)

// ---------------------------------------------------------------------------------------------------
// Scalars: bf16 conversions, Java's max/min, division, views.

__device__ __forceinline__ bool is_nan(float x) { return x != x; }
__device__ __forceinline__ bool is_nan(double x) { return x != x; }
__device__ __forceinline__ bool is_finite(float x) { return fabsf(x) < LIPA_INF; }

__device__ __forceinline__ float bf16_to_float(lipa_bf16 b) {
    return __uint_as_float(((unsigned int)b) << 16);
}

// DType.floatToBf16: round to nearest even; a NaN keeps its sign and top payload bits and is made quiet.
__device__ __forceinline__ lipa_bf16 float_to_bf16(float f) {
    unsigned int u = __float_as_uint(f);
    if (is_nan(f)) {
        return (lipa_bf16)((u >> 16) | 0x40u);
    }
    u += 0x7fffu + ((u >> 16) & 1u);
    return (lipa_bf16)(u >> 16);
}

// DType.doubleToBf16: one rounding (round to odd at float precision, then to nearest even at bf16).
__device__ __forceinline__ lipa_bf16 double_to_bf16(double d) {
    float f = (float)d;
    if ((double)f != d && !is_nan(d)) {
        unsigned int bits = __float_as_uint(f);
        if (fabs((double)f) > fabs(d)) {
            bits--;  // one step toward zero in magnitude
        }
        f = __uint_as_float(bits | 1u);
    }
    return float_to_bf16(f);
}

// Loads and stores in the compute type (float) for the f32 and bf16 kernels.
__device__ __forceinline__ float ld(const float* p, long long i) { return p[i]; }
__device__ __forceinline__ float ld(const lipa_bf16* p, long long i) { return bf16_to_float(p[i]); }
__device__ __forceinline__ void st(float* p, long long i, float v) { p[i] = v; }
__device__ __forceinline__ void st(lipa_bf16* p, long long i, float v) { p[i] = float_to_bf16(v); }
__device__ __forceinline__ void st(float* p, long long i, double v) { p[i] = (float)v; }
__device__ __forceinline__ void st(lipa_bf16* p, long long i, double v) { p[i] = double_to_bf16(v); }

// java.lang.Math.max / min on floats: NaN if either is NaN, and +0 > -0.
__device__ __forceinline__ float jmax(float a, float b) {
    if (a != a) return a;
    if (a == 0.0f && b == 0.0f && __float_as_uint(a) == 0x80000000u) return b;
    return a >= b ? a : b;
}
__device__ __forceinline__ float jmin(float a, float b) {
    if (a != a) return a;
    if (a == 0.0f && b == 0.0f && __float_as_uint(b) == 0x80000000u) return b;
    return a <= b ? a : b;
}

// a / b for a >= 0, b > 0, in 32 bits when both fit (64-bit division is a long software sequence).
__device__ __forceinline__ long long div_nn(long long a, long long b) {
    if ((((unsigned long long)a | (unsigned long long)b) >> 32) == 0) {
        return (long long)((unsigned int)a / (unsigned int)b);
    }
    return a / b;
}

// Where linear (row-major) element i of the view lives, in elements from the base pointer. The outermost
// axis needs no division (i < n means the quotient left for it is in range).
__device__ __forceinline__ long long view_offset(const View& v, long long i) {
    long long off = 0;
#pragma unroll
    for (int k = LIPA_MAX_RANK - 1; k >= 1; --k) {
        if (k < v.rank) {
            long long d = v.dims[k];
            long long q = div_nn(i, d);
            off += (i - q * d) * v.strides[k];
            i = q;
        }
    }
    if (v.rank > 0) {
        off += i * v.strides[0];
    }
    return off;
}

// True when the view is row-major contiguous over its dims (offset of element i is i).
__device__ __forceinline__ bool view_dense(const View& v) {
    long long expect = 1;
    bool dense = true;
#pragma unroll
    for (int k = LIPA_MAX_RANK - 1; k >= 0; --k) {
        if (k < v.rank) {
            if (v.dims[k] != 1 && v.strides[k] != expect) dense = false;
            expect *= v.dims[k];
        }
    }
    return dense;
}

// ---------------------------------------------------------------------------------------------------
// Accumulation and block reductions.

// A float sum with Neumaier's compensation; inf and NaN terms propagate as in a plain sum.
struct Acc {
    float s, c;
    __device__ __forceinline__ Acc() : s(0.0f), c(0.0f) {}
    __device__ __forceinline__ void add(float v) {
        float t = s + v;
        if (fabsf(s) >= fabsf(v)) {
            c += (s - t) + v;
        } else {
            c += (v - t) + s;
        }
        s = t;
    }
    __device__ __forceinline__ float value() const { return is_finite(s) ? s + c : s; }
};

struct OpSum {
    __device__ __forceinline__ float operator()(float a, float b) const { return a + b; }
    __device__ __forceinline__ double operator()(double a, double b) const { return a + b; }
};
struct OpMax {
    __device__ __forceinline__ float operator()(float a, float b) const { return jmax(a, b); }
};
struct OpMin {
    __device__ __forceinline__ float operator()(float a, float b) const { return jmin(a, b); }
};

template <class T, class Op>
__device__ __forceinline__ T warp_reduce(T v, Op op) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
    }
    return v;
}

// The reduction of v over the block, returned to every thread (each warp finishes the same tree, so all
// get the same bits). blockDim.x must be a multiple of 32; every thread of the block must call it.
template <class T, class Op>
__device__ T block_reduce(T v, Op op, T identity) {
    __shared__ T partial[32];
    v = warp_reduce(v, op);
    if (blockDim.x <= 32) {
        return v;
    }
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    __syncthreads();  // an earlier call's readers are done with partial[]
    if (lane == 0) {
        partial[warp] = v;
    }
    __syncthreads();
    v = lane < (int)(blockDim.x >> 5) ? partial[lane] : identity;
    return warp_reduce(v, op);
}

__device__ __forceinline__ float block_sum(float v) { return block_reduce(v, OpSum(), 0.0f); }

// The "column" layout of the block kernels, for items (outputs, channels, softmax rows) whose elements
// are strided but whose neighbours are neighbours in memory: the block takes a tile of `width` adjacent
// items, thread (warp, lane) works for item `col` = lane % width and reads that item's elements
// j = sub, sub + streams, ...; each warp load is then 32 / width runs of `width` adjacent elements. The
// tile is as wide as 32 items, narrower (down to 32 bytes of elements) while there would be fewer tiles
// than blocks. The choice depends only on the item count and the grid, so it is the same in every block.
struct Cols {
    int width, col, sub, streams;
    long long tiles;
};

template <class T>
__device__ __forceinline__ Cols columns_for(long long items) {
    Cols c;
    const int minWidth = 32 / (int)sizeof(T) < 32 ? 32 / (int)sizeof(T) : 32;
    int w = 32;
    while (w > minWidth && (items + w - 1) / w < (long long)gridDim.x) {
        w >>= 1;
    }
    const int lane = threadIdx.x & 31;
    c.width = w;
    c.col = lane & (w - 1);
    c.sub = (threadIdx.x >> 5) * (32 / w) + lane / w;
    c.streams = (blockDim.x >> 5) * (32 / w);
    c.tiles = (items + w - 1) / w;
    return c;
}

// Scratch for column_reduce: [32 warps][33] cells (padded against bank conflicts), as float or double.
__device__ __forceinline__ double* column_scratch() {
    __shared__ double cells[32 * 33];
    return cells;
}

// Returns, to every thread, the reduction of v over all threads working for its item (column layout).
// blockDim.x must be a multiple of 32; every thread of the block must call it.
template <class T, class Op>
__device__ T column_reduce(T v, Op op, const Cols& c) {
    T* cell = reinterpret_cast<T*>(column_scratch());
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    const int nw = blockDim.x >> 5;
    for (int off = 16; off >= c.width; off >>= 1) {
        v = op(v, __shfl_xor_sync(0xffffffffu, v, off));  // lanes lane ^ off work for the same item
    }
    __syncthreads();  // an earlier call's readers are done with the cells
    if (lane < c.width) {
        cell[warp * 33 + lane] = v;
    }
    __syncthreads();
    if (warp == 0 && lane < c.width) {
        T r = cell[lane];
        for (int w = 1; w < nw; ++w) {
            r = op(r, cell[w * 33 + lane]);
        }
        cell[lane] = r;  // only this thread touches column `lane`
    }
    __syncthreads();
    return cell[c.col];
}

// Visits j = first, first + step, ... < n, issuing four loads before using any (memory-level parallelism;
// the uses keep the order of j).
template <class Load, class Use>
__device__ __forceinline__ void strided_loop(long long j, long long step, long long n, const Load& load,
                                             const Use& use) {
    for (; j + 3 * step < n; j += 4 * step) {
        const float a = load(j);
        const float b = load(j + step);
        const float c = load(j + 2 * step);
        const float d = load(j + 3 * step);
        use(a);
        use(b);
        use(c);
        use(d);
    }
    for (; j < n; j += step) {
        use(load(j));
    }
}

// Rows of at most LIPA_CACHE * blockDim.x elements are read once into registers: element
// threadIdx.x + u * blockDim.x in v[u] (pad beyond the row).
#define LIPA_CACHE 8

template <class Load>
__device__ __forceinline__ void cache_row(float (&v)[LIPA_CACHE], long long size, float pad, const Load& load) {
#pragma unroll
    for (int u = 0; u < LIPA_CACHE; ++u) {
        const long long j = threadIdx.x + (long long)u * blockDim.x;
        v[u] = j < size ? load(j) : pad;
    }
}

// ---------------------------------------------------------------------------------------------------
// 1. Copies and casts. Mirrors Tensor.copyFrom / RefBackend's Cast and RefReduce.concat: dst element i
// (through dv) = src element i (through sv) converted; same-dtype copies move bits unchanged.

__device__ __forceinline__ void convert(float s, float* d) { *d = s; }
__device__ __forceinline__ void convert(float s, lipa_bf16* d) { *d = float_to_bf16(s); }
__device__ __forceinline__ void convert(float s, double* d) { *d = (double)s; }
__device__ __forceinline__ void convert(lipa_bf16 s, float* d) { *d = bf16_to_float(s); }
__device__ __forceinline__ void convert(lipa_bf16 s, lipa_bf16* d) { *d = s; }
__device__ __forceinline__ void convert(lipa_bf16 s, double* d) { *d = (double)bf16_to_float(s); }
__device__ __forceinline__ void convert(double s, float* d) { *d = (float)s; }
__device__ __forceinline__ void convert(double s, lipa_bf16* d) { *d = double_to_bf16(s); }
__device__ __forceinline__ void convert(double s, double* d) { *d = s; }

template <class S, class D>
__device__ __forceinline__ void copy_body(const S* src, const View& sv, D* dst, const View& dv, long long n) {
    if (view_dense(sv) && view_dense(dv)) {
        LIPA_GRID_STRIDE(i, n) { convert(src[i], dst + i); }
    } else {
        LIPA_GRID_STRIDE(i, n) { convert(src[view_offset(sv, i)], dst + view_offset(dv, i)); }
    }
}

#define LIPA_COPY(SN, S, DN, D)                                                  \
    LIPA_KERNEL                                                                  \
    lipa_copy_##SN##_##DN(const S* src, View sv, D* dst, View dv, long long n) { \
        copy_body(src, sv, dst, dv, n);                                          \
    }
LIPA_COPY(f32, float, f32, float)
LIPA_COPY(f32, float, bf16, lipa_bf16)
LIPA_COPY(f32, float, f64, double)
LIPA_COPY(bf16, lipa_bf16, f32, float)
LIPA_COPY(bf16, lipa_bf16, bf16, lipa_bf16)
LIPA_COPY(bf16, lipa_bf16, f64, double)
LIPA_COPY(f64, double, f32, float)
LIPA_COPY(f64, double, bf16, lipa_bf16)
LIPA_COPY(f64, double, f64, double)

// ---------------------------------------------------------------------------------------------------
// 2. Fill. Mirrors RefBackend.filled (op Full): every element = value rounded to the dtype.

LIPA_KERNEL lipa_fill_f32(float* out, long long n, double value) {
    const float v = (float)value;
    LIPA_GRID_STRIDE(i, n) { out[i] = v; }
}
LIPA_KERNEL lipa_fill_bf16(lipa_bf16* out, long long n, double value) {
    const lipa_bf16 v = double_to_bf16(value);
    LIPA_GRID_STRIDE(i, n) { out[i] = v; }
}
LIPA_KERNEL lipa_fill_f64(double* out, long long n, double value) {
    LIPA_GRID_STRIDE(i, n) { out[i] = value; }
}

// ---------------------------------------------------------------------------------------------------
// 3, 4. Elementwise functions and their derivatives.

// RefElementwise.sigmoid: neither branch overflows.
__device__ __forceinline__ float sigmoidf_(float x) {
    if (x >= 0.0f) {
        return 1.0f / (1.0f + expf(-x));
    }
    const float e = expf(x);
    return e / (1.0f + e);
}

#define LIPA_SQRT_2_OVER_PI 0.7978845608028654f
#define LIPA_SQRT1_2 0.7071067811865476f
#define LIPA_INV_SQRT_2PI 0.3989422804014327f
#define LIPA_GELU_C 0.044715f

// RefElementwise.apply, in float.
__device__ __forceinline__ float eltwise_apply(int kind, float a, float b, float x) {
    switch (kind) {
    case ELT_RELU:
        return x > 0.0f ? x : (a == 0.0f ? 0.0f : a * x);  // +0 (and 0 for NaN) for plain relu, as the ref
    case ELT_GELU_TANH:
        return 0.5f * x * (1.0f + tanhf(LIPA_SQRT_2_OVER_PI * (x + LIPA_GELU_C * x * x * x)));
    case ELT_GELU_ERF:
        return 0.5f * x * (1.0f + erff(x * LIPA_SQRT1_2));
    case ELT_TANH:
        return tanhf(x);
    case ELT_SIGMOID:
        return sigmoidf_(x);
    case ELT_ELU:
        return x > 0.0f ? x : a * expm1f(x);
    case ELT_SOFTPLUS: {
        // softplus(a x) / a, with softplus(z) = z > 0 ? z + log1p(exp(-z)) : log1p(exp(z)); for z > 0 this
        // is x + log1p(exp(-z)) / a, which does not overflow where a x does in float but not in double.
        const float z = a * x;
        return z > 0.0f ? x + log1pf(expf(-z)) / a : log1pf(expf(z)) / a;
    }
    case ELT_SWISH:
        return x * sigmoidf_(a * x);
    case ELT_EXP:
        return expf(x);
    case ELT_LOG:
        return logf(x);
    case ELT_SQRT:
        return sqrtf(x);
    case ELT_SQUARE:
        return x * x;
    case ELT_ABS:
        return fabsf(x);
    case ELT_CLIP:
        return jmin(jmax(x, a), b);
    case ELT_LINEAR:
        return fmaf(a, x, b);
    default:
        return __int_as_float(0x7fffffff);
    }
}

// RefElementwise.derivative, in float (f'(x); the caller multiplies by g).
__device__ __forceinline__ float eltwise_derivative(int kind, float a, float b, float x) {
    switch (kind) {
    case ELT_RELU:
        return x > 0.0f ? 1.0f : a;
    case ELT_GELU_TANH: {
        const float t = tanhf(LIPA_SQRT_2_OVER_PI * (x + LIPA_GELU_C * x * x * x));
        const float s = 1.0f - t * t;
        float r = 0.5f * (1.0f + t);
        // the second term vanishes once tanh saturates; skipping it then avoids 0 * inf from x^2
        // overflowing in float for finite x (the double ref gets 0 there, and NaN only for x = +-inf)
        if (s != 0.0f || !is_finite(x)) {
            r += 0.5f * x * s * LIPA_SQRT_2_OVER_PI * (1.0f + 3.0f * LIPA_GELU_C * x * x);
        }
        return r;
    }
    case ELT_GELU_ERF:
        return 0.5f * (1.0f + erff(x * LIPA_SQRT1_2)) + x * expf(-0.5f * x * x) * LIPA_INV_SQRT_2PI;
    case ELT_TANH: {
        const float t = tanhf(x);
        return 1.0f - t * t;
    }
    case ELT_SIGMOID: {
        const float s = sigmoidf_(x);
        return s * (1.0f - s);
    }
    case ELT_ELU:
        return x > 0.0f ? 1.0f : a * expf(x);
    case ELT_SOFTPLUS:
        return sigmoidf_(a * x);
    case ELT_SWISH: {
        const float ax = a * x;
        const float s = sigmoidf_(ax);
        // a x overflowing in float for finite x: the double ref has s in {0, 1} and a x s (1 - s) = 0
        if (is_finite(x) && !is_finite(ax)) {
            return s;
        }
        return s + ax * s * (1.0f - s);
    }
    case ELT_EXP:
        return expf(x);
    case ELT_LOG:
        return 1.0f / x;
    case ELT_SQRT:
        return 0.5f / sqrtf(x);
    case ELT_SQUARE:
        return 2.0f * x;
    case ELT_ABS:
        return x > 0.0f ? 1.0f : x < 0.0f ? -1.0f : x;  // Math.signum: 0 at +-0, NaN at NaN
    case ELT_CLIP:
        return x > a && x < b ? 1.0f : 0.0f;
    case ELT_LINEAR:
        return a;
    default:
        return __int_as_float(0x7fffffff);
    }
}

// Mirrors RefElementwise.eltwise: y[i] = f(x[xv(i)]).
template <class T>
__device__ __forceinline__ void eltwise_body(const T* x, const View& xv, T* y, long long n, int kind, float a,
                                             float b) {
    const bool xd = view_dense(xv);
    LIPA_GRID_STRIDE(i, n) {
        const float v = ld(x, xd ? i : view_offset(xv, i));
        st(y, i, eltwise_apply(kind, a, b, v));
    }
}

// Mirrors RefElementwise.eltwiseGrad (op EltwiseGrad): dx[i] = f'(x[xv(i)]) * g[gv(i)], x the function's input.
template <class T>
__device__ __forceinline__ void eltwise_grad_body(const T* x, const View& xv, const T* g, const View& gv, T* dx,
                                                  long long n, int kind, float a, float b) {
    const bool xd = view_dense(xv);
    const bool gd = view_dense(gv);
    LIPA_GRID_STRIDE(i, n) {
        const float v = ld(x, xd ? i : view_offset(xv, i));
        const float w = ld(g, gd ? i : view_offset(gv, i));
        st(dx, i, eltwise_derivative(kind, a, b, v) * w);
    }
}

#define LIPA_ELTWISE(TN, T)                                                                        \
    LIPA_KERNEL                                                                                    \
    lipa_eltwise_##TN(const T* x, View xv, T* y, long long n, int kind, float alpha, float beta) { \
        eltwise_body(x, xv, y, n, kind, alpha, beta);                                              \
    }                                                                                              \
    LIPA_KERNEL                                                                                    \
    lipa_eltwise_grad_##TN(const T* x, View xv, const T* g, View gv, T* dx, long long n, int kind, \
                           float alpha, float beta) {                                              \
        eltwise_grad_body(x, xv, g, gv, dx, n, kind, alpha, beta);                                 \
    }
LIPA_ELTWISE(f32, float)
LIPA_ELTWISE(bf16, lipa_bf16)

// ---------------------------------------------------------------------------------------------------
// 5. Binary arithmetic with broadcasting. Mirrors RefElementwise.binary: out[i] = a[av(i)] op b[bv(i)].
// out may alias a (each thread reads its inputs before writing out[i]).

__device__ __forceinline__ float binary_apply(int kind, float u, float v) {
    switch (kind) {
    case BIN_ADD: return u + v;
    case BIN_SUB: return u - v;
    case BIN_MUL: return u * v;
    case BIN_DIV: return u / v;
    case BIN_MAX: return jmax(u, v);
    case BIN_MIN: return jmin(u, v);
    default: return __int_as_float(0x7fffffff);
    }
}

template <class T>
__device__ __forceinline__ void binary_body(const T* a, const View& av, const T* b, const View& bv, T* out, long long n,
                                            int kind) {
    const bool ad = view_dense(av);
    const bool bd = view_dense(bv);
    LIPA_GRID_STRIDE(i, n) {
        const float u = ld(a, ad ? i : view_offset(av, i));
        const float v = ld(b, bd ? i : view_offset(bv, i));
        st(out, i, binary_apply(kind, u, v));
    }
}

#define LIPA_BINARY(TN, T)                                                                      \
    LIPA_KERNEL                                                                                 \
    lipa_binary_##TN(const T* a, View av, const T* b, View bv, T* out, long long n, int kind) { \
        binary_body(a, av, b, bv, out, n, kind);                                                \
    }
LIPA_BINARY(f32, float)
LIPA_BINARY(bf16, lipa_bf16)

// ---------------------------------------------------------------------------------------------------
// 6. Reductions. Mirror RefReduce.reduce: output o reduces x[outer(o) + inner(j)], j < nInner.
// SUM from 0; MEAN = sum / nInner (NaN when nInner is 0, as the ref's 0/0); MAX from -inf and MIN from
// +inf with Math.max/min (NaN wins); NORM_L2 = sqrt(sum x^2), accumulated in double (squares of floats
// overflow and underflow float where the ref's double does not).

// The dims and stride of a view's last (fastest) axis; 1 and 1 for rank 0.
__device__ __forceinline__ void view_last(const View& v, long long& dim, long long& stride) {
    dim = 1;
    stride = 1;
#pragma unroll
    for (int k = 0; k < LIPA_MAX_RANK; ++k) {
        if (k == v.rank - 1) {
            dim = v.dims[k];
            stride = v.strides[k];
        }
    }
}

// The part of one output's reduction that one thread sees: j = first, first + step, ... < n.
struct ThreadPart {
    float f;   // SUM, MEAN: compensated sum; MAX, MIN: running extreme
    double d;  // NORM_L2: sum of squares
};

template <class T>
__device__ __forceinline__ ThreadPart reduce_part(const T* base, const View& inner, long long first, long long step,
                                                  long long n, int kind) {
    ThreadPart p;
    p.f = 0.0f;
    p.d = 0.0;
    auto load = [&](long long j) { return ld(base, view_offset(inner, j)); };
    if (kind == RED_MAX) {
        float m = -LIPA_INF;
        strided_loop(first, step, n, load, [&](float e) { m = jmax(m, e); });
        p.f = m;
    } else if (kind == RED_MIN) {
        float m = LIPA_INF;
        strided_loop(first, step, n, load, [&](float e) { m = jmin(m, e); });
        p.f = m;
    } else if (kind == RED_NORM_L2) {
        double s = 0.0;
        strided_loop(first, step, n, load, [&](float e) { s += (double)e * (double)e; });
        p.d = s;
    } else {
        Acc s;
        strided_loop(first, step, n, load, [&](float e) { s.add(e); });
        p.f = s.value();
    }
    return p;
}

// Combines the parts over the block (row layout) or over the threads of each item (column layout).
__device__ __forceinline__ ThreadPart reduce_combine(ThreadPart p, int kind, const Cols* c) {
    switch (kind) {
    case RED_MAX: p.f = c ? column_reduce(p.f, OpMax(), *c) : block_reduce(p.f, OpMax(), -LIPA_INF); break;
    case RED_MIN: p.f = c ? column_reduce(p.f, OpMin(), *c) : block_reduce(p.f, OpMin(), LIPA_INF); break;
    case RED_NORM_L2: p.d = c ? column_reduce(p.d, OpSum(), *c) : block_reduce(p.d, OpSum(), 0.0); break;
    default: p.f = c ? column_reduce(p.f, OpSum(), *c) : block_reduce(p.f, OpSum(), 0.0f); break;
    }
    return p;
}

template <class T>
__device__ __forceinline__ void reduce_store(T* out, long long o, ThreadPart p, long long nInner, int kind) {
    if (kind == RED_NORM_L2) {
        st(out, o, sqrt(p.d));
    } else if (kind == RED_MEAN) {
        st(out, o, p.f / (float)nInner);
    } else {
        st(out, o, p.f);
    }
}

// A block per output (row layout): the block's threads split the output's elements. When the reduced
// elements are strided but neighbouring outputs are neighbours in memory (a sum over the batch axis, say),
// the block takes a tile of adjacent outputs instead (column layout, see Cols).
template <class T>
__device__ __forceinline__ void reduce_block_body(const T* x, const View& outer, const View& inner, T* out,
                                                  long long nOut, long long nInner, int kind) {
    long long outerDim, outerStride, innerDim, innerStride;
    view_last(outer, outerDim, outerStride);
    view_last(inner, innerDim, innerStride);
    if (outer.rank > 0 && inner.rank > 0 && outerStride == 1 && outerDim >= 8 && innerStride != 1) {
        const Cols c = columns_for<T>(nOut);
        for (long long t = blockIdx.x; t < c.tiles; t += gridDim.x) {
            const long long o = t * c.width + c.col;
            const bool valid = o < nOut;
            const T* base = x + (valid ? view_offset(outer, o) : 0);
            const ThreadPart part = reduce_part(base, inner, c.sub, c.streams, valid ? nInner : 0, kind);
            const ThreadPart p = reduce_combine(part, kind, &c);
            if (c.sub == 0 && valid) {
                reduce_store(out, o, p, nInner, kind);
            }
        }
    } else {
        for (long long o = blockIdx.x; o < nOut; o += gridDim.x) {
            const T* base = x + view_offset(outer, o);
            const ThreadPart part = reduce_part(base, inner, threadIdx.x, blockDim.x, nInner, kind);
            const ThreadPart p = reduce_combine(part, kind, nullptr);
            if (threadIdx.x == 0) {
                reduce_store(out, o, p, nInner, kind);
            }
        }
    }
}

// A thread per output (small nInner).
template <class T>
__device__ __forceinline__ void reduce_thread_body(const T* x, const View& outer, const View& inner, T* out,
                                                   long long nOut, long long nInner, int kind) {
    LIPA_GRID_STRIDE(o, nOut) {
        const T* base = x + view_offset(outer, o);
        reduce_store(out, o, reduce_part(base, inner, 0, 1, nInner, kind), nInner, kind);
    }
}

#define LIPA_REDUCE(TN, T)                                                                          \
    LIPA_KERNEL lipa_reduce_block_##TN(const T* x, View outer, View inner, T* out, long long nOut,  \
                                       long long nInner, int kind) {                                \
        reduce_block_body(x, outer, inner, out, nOut, nInner, kind);                                \
    }                                                                                               \
    LIPA_KERNEL lipa_reduce_thread_##TN(const T* x, View outer, View inner, T* out, long long nOut, \
                                        long long nInner, int kind) {                               \
        reduce_thread_body(x, outer, inner, out, nOut, nInner, kind);                               \
    }
LIPA_REDUCE(f32, float)
LIPA_REDUCE(bf16, lipa_bf16)

// ---------------------------------------------------------------------------------------------------
// 7. Normalization. Mirrors RefNorm.layerNorm / batchNorm (training) / groupNorm and their shared
// RefNorm.normalize: per group, mean = sum x / count, biased var = sum (x - mean)^2 / count (two passes),
// y = (x - mean) * (1 / sqrt(var + eps)), then y * gamma + beta (layer norm without gamma: y alone).
// A group of no elements gets mean and var NaN (0/0), as the ref.

// y = (x - m) * inv, then the affine part of the group's parameter c (none when gamma and beta are NULL).
template <class T>
__device__ __forceinline__ float norm_apply(float xv, float m, float inv, const T* gamma, const T* beta, long long c) {
    float r = (xv - m) * inv;
    if (gamma != nullptr) {
        r = r * ld(gamma, c) + (beta != nullptr ? ld(beta, c) : 0.0f);
    } else if (beta != nullptr) {
        r = r + ld(beta, c);
    }
    return r;
}

// Where element j of a group lives, and which gamma/beta entry it uses.
struct NormGroup {
    int mode;
    long long base;   // layer, group: offset of the group's first element; batch: c * S
    long long S, CS;  // spatial size; C * S, the step between samples (batch)
    long long chan0;  // batch: the channel c; group: the group's first channel g * (C / G)
    __device__ __forceinline__ long long offset(long long j) const {
        if (mode == NORM_BATCH) {
            const long long nIdx = div_nn(j, S);
            return nIdx * CS + base + (j - nIdx * S);
        }
        return base + j;
    }
    __device__ __forceinline__ long long param(long long j) const {
        if (mode == NORM_LAYER) return j;
        if (mode == NORM_BATCH) return chan0;
        return chan0 + div_nn(j, S);
    }
};

// A block per group (row layout). Contiguous groups (layer and group norm) that fit are read into
// registers once.
template <class T>
__device__ __forceinline__ void norm_rows(const T* x, const T* gamma, const T* beta, T* y, T* mean, T* var,
                                          long long N, long long C, long long S, int G, int mode, float eps,
                                          long long groups, long long size) {
    const bool cached = mode != NORM_BATCH && size <= LIPA_CACHE * (long long)blockDim.x;
    for (long long q = blockIdx.x; q < groups; q += gridDim.x) {
        NormGroup grp;
        grp.mode = mode;
        grp.S = S;
        grp.CS = C * S;
        if (mode == NORM_LAYER) {
            grp.base = q * S;
            grp.chan0 = 0;
        } else if (mode == NORM_BATCH) {
            grp.base = q * S;
            grp.chan0 = q;
        } else {
            const long long n = q / G;
            const long long g = q - n * G;
            grp.chan0 = g * (C / G);
            grp.base = n * C * S + grp.chan0 * S;
        }
        float m, v;
        if (cached) {
            const T* row = x + grp.base;
            T* out = y + grp.base;
            float r[LIPA_CACHE];
            cache_row(r, size, 0.0f, [&](long long j) { return ld(row, j); });
            Acc s1;
#pragma unroll
            for (int u = 0; u < LIPA_CACHE; ++u) {
                if (threadIdx.x + u * blockDim.x < size) s1.add(r[u]);
            }
            m = block_sum(s1.value()) / (float)size;
            Acc s2;
#pragma unroll
            for (int u = 0; u < LIPA_CACHE; ++u) {
                const float d = r[u] - m;
                if (threadIdx.x + u * blockDim.x < size) s2.add(d * d);
            }
            v = block_sum(s2.value()) / (float)size;
            const float inv = 1.0f / sqrtf(v + eps);
#pragma unroll
            for (int u = 0; u < LIPA_CACHE; ++u) {
                const int j = threadIdx.x + u * blockDim.x;
                if (j < size) st(out, j, norm_apply(r[u], m, inv, gamma, beta, grp.param(j)));
            }
        } else {
            auto load = [&](long long j) { return ld(x, grp.offset(j)); };
            Acc s1;
            strided_loop(threadIdx.x, blockDim.x, size, load, [&](float e) { s1.add(e); });
            m = block_sum(s1.value()) / (float)size;
            Acc s2;
            strided_loop(threadIdx.x, blockDim.x, size, load, [&](float e) {
                const float d = e - m;
                s2.add(d * d);
            });
            v = block_sum(s2.value()) / (float)size;
            const float inv = 1.0f / sqrtf(v + eps);
            for (long long j = threadIdx.x; j < size; j += blockDim.x) {
                const long long k = grp.offset(j);
                st(y, k, norm_apply(ld(x, k), m, inv, gamma, beta, grp.param(j)));
            }
        }
        if (threadIdx.x == 0) {
            if (mean != nullptr) st(mean, q, m);
            if (var != nullptr) st(var, q, v);
        }
    }
}

// Batch norm with few spatial positions (S < 32, e.g. an [N, C] input): tiles of adjacent channels (column
// layout, see Cols), so that warp loads are runs over channels.
template <class T>
__device__ __forceinline__ void norm_batch_columns(const T* x, const T* gamma, const T* beta, T* y, T* mean, T* var,
                                                   long long N, long long C, long long S, float eps) {
    const Cols cl = columns_for<T>(C);
    const long long size = N * S;
    const long long CS = C * S;
    for (long long t = blockIdx.x; t < cl.tiles; t += gridDim.x) {
        const long long c = t * cl.width + cl.col;
        const bool valid = c < C;
        const long long count = valid ? size : 0;
        auto offset = [&](long long j) {
            const long long nIdx = div_nn(j, S);
            return nIdx * CS + c * S + (j - nIdx * S);
        };
        auto load = [&](long long j) { return ld(x, offset(j)); };
        Acc s1;
        strided_loop(cl.sub, cl.streams, count, load, [&](float e) { s1.add(e); });
        const float m = column_reduce(s1.value(), OpSum(), cl) / (float)size;
        Acc s2;
        strided_loop(cl.sub, cl.streams, count, load, [&](float e) {
            const float d = e - m;
            s2.add(d * d);
        });
        const float v = column_reduce(s2.value(), OpSum(), cl) / (float)size;
        const float inv = 1.0f / sqrtf(v + eps);
        for (long long j = cl.sub; j < count; j += cl.streams) {
            const long long k = offset(j);
            st(y, k, norm_apply(ld(x, k), m, inv, gamma, beta, c));
        }
        if (cl.sub == 0 && valid) {
            if (mean != nullptr) st(mean, c, m);
            if (var != nullptr) st(var, c, v);
        }
    }
}

template <class T>
__device__ __forceinline__ void norm_body(const T* x, const T* gamma, const T* beta, T* y, T* mean, T* var,
                                          long long N, long long C, long long S, int G, int mode, float eps) {
    if (mode == NORM_BATCH && S < 32 && C >= 8) {
        norm_batch_columns(x, gamma, beta, y, mean, var, N, C, S, eps);
        return;
    }
    const long long groups = mode == NORM_LAYER ? N : mode == NORM_BATCH ? C : N * (long long)G;
    const long long size = mode == NORM_LAYER ? S : mode == NORM_BATCH ? N * S : (C / G) * S;
    norm_rows(x, gamma, beta, y, mean, var, N, C, S, G, mode, eps, groups, size);
}

// Mirrors RefNorm.batchNorm with training false: y = (x - rmean[c]) * (1 / sqrt(rvar[c] + eps)) * gamma[c]
// + beta[c], x contiguous [N, C, S].
template <class T>
__device__ __forceinline__ void batchnorm_infer_body(const T* x, const T* gamma, const T* beta, const T* rmean,
                                                     const T* rvar, T* y, long long N, long long C, long long S,
                                                     float eps) {
    const long long n = N * C * S;
    LIPA_GRID_STRIDE(i, n) {
        const long long nc = div_nn(i, S);
        const long long c = nc - div_nn(nc, C) * C;
        const float inv = 1.0f / sqrtf(ld(rvar, c) + eps);
        const float r = (ld(x, i) - ld(rmean, c)) * inv;
        st(y, i, r * ld(gamma, c) + ld(beta, c));
    }
}

#define LIPA_NORM(TN, T)                                                                                      \
    LIPA_KERNEL lipa_norm_##TN(const T* x, const T* gamma, const T* beta, T* y, T* mean, T* var, long long N, \
                               long long C, long long S, int G, int mode, float eps) {                        \
        norm_body(x, gamma, beta, y, mean, var, N, C, S, G, mode, eps);                                       \
    }                                                                                                         \
    LIPA_KERNEL lipa_batchnorm_infer_##TN(const T* x, const T* gamma, const T* beta, const T* rmean,          \
                                          const T* rvar, T* y, long long N, long long C, long long S,         \
                                          float eps) {                                                        \
        batchnorm_infer_body(x, gamma, beta, rmean, rvar, y, N, C, S, eps);                                   \
    }
LIPA_NORM(f32, float)
LIPA_NORM(bf16, lipa_bf16)

// ---------------------------------------------------------------------------------------------------
// 8. Softmax along the middle axis of [outer, n, inner]: row r = o * inner + i holds the elements
// o * n * inner + k * inner + i, k < n. A block per row (rows that fit are read into registers once),
// or, when inner >= 32, a tile of neighbouring rows per block (column layout, see Cols).

// Mirrors RefNorm.softmax: max (NaN wins), sum of exp(x - max), then exp(z) / sum or z - log(sum).
template <class T>
__device__ __forceinline__ void softmax_body(const T* x, T* y, long long outer, long long n, long long inner,
                                             int logSoftmax) {
    if (inner >= 32) {
        const Cols c = columns_for<T>(outer * inner);
        const long long tilesPerO = (inner + c.width - 1) / c.width;
        const long long tiles = outer * tilesPerO;
        for (long long t = blockIdx.x; t < tiles; t += gridDim.x) {
            const long long o = div_nn(t, tilesPerO);
            const long long i = (t - o * tilesPerO) * c.width + c.col;
            const long long count = i < inner ? n : 0;
            const long long base = o * n * inner + i;
            auto load = [&](long long k) { return ld(x, base + k * inner); };
            float mx = -LIPA_INF;
            strided_loop(c.sub, c.streams, count, load, [&](float e) { mx = jmax(mx, e); });
            mx = column_reduce(mx, OpMax(), c);
            Acc s;
            strided_loop(c.sub, c.streams, count, load, [&](float e) { s.add(expf(e - mx)); });
            const float sum = column_reduce(s.value(), OpSum(), c);
            const float logSum = logf(sum);
            for (long long k = c.sub; k < count; k += c.streams) {
                const float z = ld(x, base + k * inner) - mx;
                st(y, base + k * inner, logSoftmax ? z - logSum : expf(z) / sum);
            }
        }
        return;
    }
    const long long rows = outer * inner;
    for (long long r = blockIdx.x; r < rows; r += gridDim.x) {
        const long long o = div_nn(r, inner);
        const long long base = o * n * inner + (r - o * inner);
        auto load = [&](long long k) { return ld(x, base + k * inner); };
        if (n <= LIPA_CACHE * (long long)blockDim.x) {
            float v[LIPA_CACHE];
            cache_row(v, n, -LIPA_INF, load);
            float mx = -LIPA_INF;
#pragma unroll
            for (int u = 0; u < LIPA_CACHE; ++u) mx = jmax(mx, v[u]);
            mx = block_reduce(mx, OpMax(), -LIPA_INF);
            float e[LIPA_CACHE];
            Acc s;
#pragma unroll
            for (int u = 0; u < LIPA_CACHE; ++u) {
                e[u] = expf(v[u] - mx);
                if (threadIdx.x + (long long)u * blockDim.x < n) s.add(e[u]);
            }
            const float sum = block_sum(s.value());
            const float logSum = logf(sum);
#pragma unroll
            for (int u = 0; u < LIPA_CACHE; ++u) {
                const long long k = threadIdx.x + (long long)u * blockDim.x;
                if (k < n) st(y, base + k * inner, logSoftmax ? (v[u] - mx) - logSum : e[u] / sum);
            }
        } else {
            float mx = -LIPA_INF;
            strided_loop(threadIdx.x, blockDim.x, n, load, [&](float e) { mx = jmax(mx, e); });
            mx = block_reduce(mx, OpMax(), -LIPA_INF);
            Acc s;
            strided_loop(threadIdx.x, blockDim.x, n, load, [&](float e) { s.add(expf(e - mx)); });
            const float sum = block_sum(s.value());
            const float logSum = logf(sum);
            for (long long k = threadIdx.x; k < n; k += blockDim.x) {
                const float z = ld(x, base + k * inner) - mx;
                st(y, base + k * inner, logSoftmax ? z - logSum : expf(z) / sum);
            }
        }
    }
}

// Mirrors SoftmaxGrad.decompose (run by RefBackend.composite): log-softmax g - exp(y) * sum(g),
// softmax y * (g - sum(g * y)), sums along the axis.
template <class T>
__device__ __forceinline__ void softmax_grad_body(const T* y, const T* g, T* dx, long long outer, long long n,
                                                  long long inner, int logSoftmax) {
    const bool column = inner >= 32;
    const Cols c = columns_for<T>(outer * inner);
    const long long tilesPerO = (inner + c.width - 1) / c.width;
    const long long items = column ? outer * tilesPerO : outer * inner;
    const long long first = column ? c.sub : threadIdx.x;
    const long long step = column ? c.streams : blockDim.x;
    for (long long t = blockIdx.x; t < items; t += gridDim.x) {
        long long base, count;
        if (column) {
            const long long o = div_nn(t, tilesPerO);
            const long long i = (t - o * tilesPerO) * c.width + c.col;
            count = i < inner ? n : 0;
            base = o * n * inner + i;
        } else {
            const long long o = div_nn(t, inner);
            count = n;
            base = o * n * inner + (t - o * inner);
        }
        auto load = [&](long long k) {
            const long long at = base + k * inner;
            return logSoftmax ? ld(g, at) : ld(g, at) * ld(y, at);
        };
        Acc s;
        strided_loop(first, step, count, load, [&](float e) { s.add(e); });
        const float sum = column ? column_reduce(s.value(), OpSum(), c) : block_sum(s.value());
        for (long long k = first; k < count; k += step) {
            const long long at = base + k * inner;
            const float yv = ld(y, at);
            const float gv = ld(g, at);
            st(dx, at, logSoftmax ? gv - expf(yv) * sum : yv * (gv - sum));
        }
    }
}

#define LIPA_SOFTMAX(TN, T)                                                                         \
    LIPA_KERNEL lipa_softmax_##TN(const T* x, T* y, long long outer, long long n, long long inner,  \
                                  int logSoftmax) {                                                 \
        softmax_body(x, y, outer, n, inner, logSoftmax);                                            \
    }                                                                                               \
    LIPA_KERNEL lipa_softmax_grad_##TN(const T* y, const T* g, T* dx, long long outer, long long n, \
                                       long long inner, int logSoftmax) {                           \
        softmax_grad_body(y, g, dx, outer, n, inner, logSoftmax);                                   \
    }
LIPA_SOFTMAX(f32, float)
LIPA_SOFTMAX(bf16, lipa_bf16)

// ---------------------------------------------------------------------------------------------------
// 9. 2-D pooling of contiguous NCHW. Window (oh, ow) covers rows oh*sh - ph + [0, kh) and columns
// ow*sw - pw + [0, kw); padded positions are skipped (Pool2d keeps padding <= kernel / 2, so no window
// is all padding). Forward and tangent: a thread per output. Gradients: gathers (each dx element sums
// over the windows containing it, in row-major window order as the ref accumulates), so no atomics.

struct PoolGeom {
    long long H, W, OH, OW;
    int kh, kw, sh, sw, ph, pw;
};

// The in-range part [h0, h1) x [w0, w1) of window (oh, ow).
struct Window {
    long long h0, h1, w0, w1;
};

__device__ __forceinline__ Window pool_window(const PoolGeom& p, long long oh, long long ow) {
    Window w;
    const long long hs = oh * p.sh - p.ph;
    const long long ws = ow * p.sw - p.pw;
    w.h0 = hs < 0 ? 0 : hs;
    w.h1 = hs + p.kh < p.H ? hs + p.kh : p.H;
    w.w0 = ws < 0 ? 0 : ws;
    w.w1 = ws + p.kw < p.W ? ws + p.kw : p.W;
    return w;
}

// The first window index (along one axis) whose window contains position h: the least oh >= 0 with
// oh * s - pad + k - 1 >= h.
__device__ __forceinline__ long long first_window(long long h, int pad, int k, int s) {
    const long long d = h + pad - k + 1;
    return d <= 0 ? 0 : div_nn(d + s - 1, s);
}
// The last window index containing position h, clamped to count - 1.
__device__ __forceinline__ long long last_window(long long h, int pad, int s, long long count) {
    const long long l = div_nn(h + pad, s);
    return l < count - 1 ? l : count - 1;
}

// Visits the window's in-range elements in row-major order, use(value, offset in the plane), loading four
// ahead of their use (memory-level parallelism).
template <class T, class Use>
__device__ __forceinline__ void window_visit(const T* plane, const PoolGeom& p, const Window& w, const Use& use) {
    const int ww = (int)(w.w1 - w.w0);
    const int count = (int)(w.h1 - w.h0) * ww;
    long long off = w.h0 * p.W + w.w0;  // the next element's offset
    int c = 0;                          // and its column within the window
    for (int e = 0; e < count; e += 4) {
        float v[4];
        long long o[4];
#pragma unroll
        for (int u = 0; u < 4; ++u) {
            o[u] = off;
            v[u] = e + u < count ? ld(plane, off) : 0.0f;
            if (++c == ww) {
                c = 0;
                off += p.W - ww + 1;
            } else {
                ++off;
            }
        }
#pragma unroll
        for (int u = 0; u < 4; ++u) {
            if (e + u < count) use(v[u], o[u]);
        }
    }
}

// The offset (within one [H, W] plane) of the window's first maximum in row-major order: an element wins
// only when strictly greater than the best so far, so a NaN wins only when it comes first. -1 if empty.
// Mirrors the argmax in RefPool.poolGrad and RefPool.poolTangent.
template <class T>
__device__ __forceinline__ long long window_argmax(const T* plane, const PoolGeom& p, const Window& w) {
    long long best = -1;
    float bv = 0.0f;
    window_visit(plane, p, w, [&](float v, long long o) {
        if (best < 0 || v > bv) {
            best = o;
            bv = v;
        }
    });
    return best;
}

// Decomposes an output index into (plane nc, oh, ow).
__device__ __forceinline__ void split_out(const PoolGeom& p, long long i, long long& nc, long long& oh, long long& ow) {
    const long long t = div_nn(i, p.OW);
    ow = i - t * p.OW;
    nc = div_nn(t, p.OH);
    oh = t - nc * p.OH;
}

// Mirrors RefPool.pool: MAX (Math.max from -inf, NaN wins), AVG_INCLUDE_PAD (sum / (kh kw)),
// AVG_EXCLUDE_PAD (sum / in-range count); isMax selects max, else includePad selects the divisor.
template <class T>
__device__ __forceinline__ void pool_body(const T* x, T* out, long long N, long long C, const PoolGeom& p, bool isMax,
                                          bool includePad) {
    const long long n = N * C * p.OH * p.OW;
    LIPA_GRID_STRIDE(i, n) {
        long long nc, oh, ow;
        split_out(p, i, nc, oh, ow);
        const T* plane = x + nc * p.H * p.W;
        const Window w = pool_window(p, oh, ow);
        if (isMax) {
            float m = -LIPA_INF;
            window_visit(plane, p, w, [&](float v, long long) { m = jmax(m, v); });
            st(out, i, m);
        } else {
            float s = 0.0f;
            window_visit(plane, p, w, [&](float v, long long) { s += v; });
            const float count = includePad ? (float)p.kh * (float)p.kw : (float)((w.h1 - w.h0) * (w.w1 - w.w0));
            st(out, i, s / count);
        }
    }
}

// Mirrors RefPool.poolTangent for MAX: out = v at the window's first maximum of x (0 for an empty window,
// which Pool2d's padding rule excludes). For averages the tangent is lipa_avgpool of v.
template <class T>
__device__ __forceinline__ void maxpool_tangent_body(const T* x, const T* v, T* out, long long N, long long C,
                                                     const PoolGeom& p) {
    const long long n = N * C * p.OH * p.OW;
    LIPA_GRID_STRIDE(i, n) {
        long long nc, oh, ow;
        split_out(p, i, nc, oh, ow);
        const long long plane = nc * p.H * p.W;
        const long long best = window_argmax(x + plane, p, pool_window(p, oh, ow));
        st(out, i, best >= 0 ? ld(v, plane + best) : 0.0f);
    }
}

// Mirrors RefPool.poolGrad, a thread per dx element: dx at (h, w) sums, over the windows containing it,
// g of the window where (h, w) is that window's first maximum (max), or g / divisor (averages).
template <class T>
__device__ __forceinline__ void pool_grad_gather(const T* x, const T* g, T* dx, long long N, long long C,
                                                 const PoolGeom& p, bool isMax, bool includePad) {
    const long long n = N * C * p.H * p.W;
    LIPA_GRID_STRIDE(i, n) {
        const long long t = div_nn(i, p.W);
        const long long w = i - t * p.W;
        const long long nc = div_nn(t, p.H);
        const long long h = t - nc * p.H;
        const long long oh0 = first_window(h, p.ph, p.kh, p.sh);
        const long long ow0 = first_window(w, p.pw, p.kw, p.sw);
        const long long oh1 = last_window(h, p.ph, p.sh, p.OH);
        const long long ow1 = last_window(w, p.pw, p.sw, p.OW);
        const T* xPlane = isMax ? x + nc * p.H * p.W : nullptr;
        const T* gPlane = g + nc * p.OH * p.OW;
        const long long self = h * p.W + w;
        float acc = 0.0f;
        for (long long oh = oh0; oh <= oh1; ++oh) {
            for (long long ow = ow0; ow <= ow1; ++ow) {
                const Window win = pool_window(p, oh, ow);
                if (isMax) {
                    if (window_argmax(xPlane, p, win) == self) {
                        acc += ld(gPlane, oh * p.OW + ow);
                    }
                } else {
                    const float count = includePad ? (float)p.kh * (float)p.kw
                                                   : (float)((win.h1 - win.h0) * (win.w1 - win.w0));
                    acc += ld(gPlane, oh * p.OW + ow) / count;
                }
            }
        }
        st(dx, i, acc);
    }
}

// Max pooling's gradient by square tiles of dx elements of one plane: the block first finds, once each, the
// argmax of every window touching the tile and that window's g (into shared memory), then each dx element
// sums from those tables; the same sums as pool_grad_gather, without recomputing a window's argmax for each
// of its elements. The tile is the largest of 32, 16 or 8 on a side whose windows fit the tables; larger
// geometries fall back to pool_grad_gather.
#define LIPA_POOL_TABLE 1024

template <class T>
__device__ __forceinline__ void maxpool_grad_body(const T* x, const T* g, T* dx, long long N, long long C,
                                                  const PoolGeom& p) {
    int shift = 0;  // the tile is (1 << shift) on a side
    for (int s = 5; s >= 3 && shift == 0; --s) {
        // at most (tile + k - 2) / stride + 1 windows touch `tile` consecutive positions
        long long rows = ((1LL << s) + p.kh - 2) / p.sh + 1;
        long long cols = ((1LL << s) + p.kw - 2) / p.sw + 1;
        rows = rows < p.OH ? rows : p.OH;
        cols = cols < p.OW ? cols : p.OW;
        if (rows * cols <= LIPA_POOL_TABLE) shift = s;
    }
    if (shift == 0 || p.H * p.W > 0x7fffffffLL || p.OH * p.OW > 0x7fffffffLL) {
        pool_grad_gather(x, g, dx, N, C, p, true, false);
        return;
    }
    // plane-local indices fit in int from here on
    __shared__ int argmaxOf[LIPA_POOL_TABLE];
    __shared__ float gOf[LIPA_POOL_TABLE];
    const int tile = 1 << shift;
    const int H = (int)p.H, W = (int)p.W, OH = (int)p.OH, OW = (int)p.OW;
    const int tilesH = (H + tile - 1) >> shift;
    const int tilesW = (W + tile - 1) >> shift;
    const long long tiles = N * C * tilesH * tilesW;
    for (long long t = blockIdx.x; t < tiles; t += gridDim.x) {
        const long long rest = div_nn(t, tilesW);
        const int w0 = (int)(t - rest * tilesW) << shift;
        const long long nc = div_nn(rest, tilesH);
        const int h0 = (int)(rest - nc * tilesH) << shift;
        const int hLast = (h0 + tile < H ? h0 + tile : H) - 1;
        const int wLast = (w0 + tile < W ? w0 + tile : W) - 1;
        const int a0 = (int)first_window(h0, p.ph, p.kh, p.sh);
        const int a1 = (int)last_window(hLast, p.ph, p.sh, OH);
        const int b0 = (int)first_window(w0, p.pw, p.kw, p.sw);
        const int b1 = (int)last_window(wLast, p.pw, p.sw, OW);
        const int na = a1 - a0 + 1;
        const int nb = b1 - b0 + 1;
        const int nwin = na > 0 && nb > 0 ? na * nb : 0;
        const T* xPlane = x + nc * p.H * p.W;
        const T* gPlane = g + nc * p.OH * p.OW;
        __syncthreads();  // the previous tile's readers are done with the tables
        for (int k = threadIdx.x; k < nwin; k += blockDim.x) {
            const int oh = a0 + k / nb;
            const int ow = b0 + k % nb;
            gOf[k] = ld(gPlane, oh * OW + ow);
            argmaxOf[k] = (int)window_argmax(xPlane, p, pool_window(p, oh, ow));
        }
        __syncthreads();
        for (int e = threadIdx.x; e < (tile << shift); e += blockDim.x) {
            const int h = h0 + (e >> shift);
            const int w = w0 + (e & (tile - 1));
            if (h >= H || w >= W) {
                continue;
            }
            const int oh0 = (int)first_window(h, p.ph, p.kh, p.sh);
            const int ow0 = (int)first_window(w, p.pw, p.kw, p.sw);
            const int oh1 = (int)last_window(h, p.ph, p.sh, OH);
            const int ow1 = (int)last_window(w, p.pw, p.sw, OW);
            const int self = h * W + w;
            float acc = 0.0f;
            for (int oh = oh0; oh <= oh1; ++oh) {
                for (int ow = ow0; ow <= ow1; ++ow) {
                    const int k = (oh - a0) * nb + (ow - b0);
                    if (argmaxOf[k] == self) {
                        acc += gOf[k];
                    }
                }
            }
            st(dx, nc * p.H * p.W + self, acc);
        }
    }
}

#define LIPA_POOL_PARAMS                                                                                    \
    long long N, long long C, long long H, long long W, long long OH, long long OW, int kh, int kw, int sh, \
        int sw, int ph, int pw
#define LIPA_POOL_GEOM const PoolGeom p = {H, W, OH, OW, kh, kw, sh, sw, ph, pw}

#define LIPA_POOL(TN, T)                                                                      \
    LIPA_KERNEL lipa_maxpool_##TN(const T* x, T* out, LIPA_POOL_PARAMS) {                     \
        LIPA_POOL_GEOM;                                                                       \
        pool_body(x, out, N, C, p, true, false);                                              \
    }                                                                                         \
    LIPA_KERNEL lipa_avgpool_##TN(const T* x, T* out, LIPA_POOL_PARAMS, int includePad) {     \
        LIPA_POOL_GEOM;                                                                       \
        pool_body(x, out, N, C, p, false, includePad != 0);                                   \
    }                                                                                         \
    LIPA_KERNEL lipa_maxpool_tangent_##TN(const T* x, const T* v, T* out, LIPA_POOL_PARAMS) { \
        LIPA_POOL_GEOM;                                                                       \
        maxpool_tangent_body(x, v, out, N, C, p);                                             \
    }                                                                                         \
    LIPA_KERNEL lipa_maxpool_grad_##TN(const T* x, const T* g, T* dx, LIPA_POOL_PARAMS) {     \
        LIPA_POOL_GEOM;                                                                       \
        maxpool_grad_body(x, g, dx, N, C, p);                                                 \
    }                                                                                         \
    LIPA_KERNEL lipa_avgpool_grad_##TN(const T* g, T* dx, LIPA_POOL_PARAMS, int includePad) { \
        LIPA_POOL_GEOM;                                                                       \
        pool_grad_gather((const T*)nullptr, g, dx, N, C, p, false, includePad != 0);          \
    }
LIPA_POOL(f32, float)
LIPA_POOL(bf16, lipa_bf16)
