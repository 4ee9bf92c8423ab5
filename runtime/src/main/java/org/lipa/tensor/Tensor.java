package org.lipa.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Objects;
import org.lipa.memory.Device;
import org.lipa.memory.DeviceMemory;
import org.lipa.memory.HostMemory;

/**
 * An n-dimensional array in off-heap memory: a storage segment plus shape, strides and offset.
 *
 * <p>Tensors are immutable views: {@link #reshape}, {@link #permute}, {@link #slice} and
 * {@link #broadcastTo} return new tensors over the same bytes without copying (reshape copies only
 * when the strides do not allow a view, and then says so by needing an arena). Strides and offset
 * are in elements. The storage belongs to the {@link Arena} it was allocated in; once that arena
 * closes every access throws {@link IllegalStateException}.
 *
 * <pre>{@code
 * try (Arena arena = Arena.ofConfined()) {
 *     Tensor x = Tensor.of(arena, new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
 *     Tensor xt = x.transpose(0, 1);          // 3x2 view, no copy
 *     float[] back = xt.toFloatArray();       // {1, 4, 2, 5, 3, 6}
 * }
 * }</pre>
 *
 * <p>Thread safety: a tensor is immutable; reading it from several threads is safe while its arena
 * is open and no one writes the same storage.
 */
public final class Tensor {
    private final MemorySegment storage;
    private final DType dtype;
    private final Shape shape;
    private final long[] strides;
    private final long offset;
    /** Where the storage lives: null for the host, else the device memory it was allocated from. */
    private final DeviceMemory memory;

    private Tensor(MemorySegment storage, DType dtype, Shape shape, long[] strides, long offset, DeviceMemory memory) {
        this.storage = storage;
        this.dtype = dtype;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
        this.memory = memory;
    }

    // ---------------------------------------------------------------- creation

    /** A zero-filled contiguous tensor allocated in {@code arena}. */
    public static Tensor zeros(Arena arena, DType dtype, Shape shape) {
        Objects.requireNonNull(arena, "arena");
        Objects.requireNonNull(dtype, "dtype");
        MemorySegment seg = HostMemory.allocate(arena, bytesOf(dtype, shape));
        return new Tensor(seg, dtype, shape, shape.contiguousStrides(), 0, null);
    }

    /**
     * A contiguous tensor over existing host memory, which is neither copied nor owned: its lifetime is
     * the segment's. Used by planners that place many tensors in one allocation.
     *
     * @throws IllegalArgumentException if the segment is too small or not aligned for {@code dtype}
     */
    public static Tensor wrap(MemorySegment segment, DType dtype, Shape shape) {
        long bytes = Math.multiplyExact(shape.size(), (long) dtype.byteSize());
        if (segment.byteSize() < bytes) {
            throw new IllegalArgumentException("segment of " + segment.byteSize() + " bytes is too small for " + dtype.shortName()
                    + shape + " (" + bytes + " bytes)");
        }
        if (segment.address() % dtype.byteSize() != 0) {
            throw new IllegalArgumentException("segment at " + segment.address() + " is not aligned for " + dtype.shortName());
        }
        return new Tensor(segment, dtype, shape, shape.contiguousStrides(), 0, null);
    }

    /**
     * An uninitialized contiguous tensor in device memory, returned to its allocator when {@code arena}
     * closes. Its elements are read and written by kernels and by the explicit copies ({@link #toHost},
     * {@link #copyFrom(float[])}), never through host addresses.
     */
    public static Tensor empty(DeviceMemory memory, Arena arena, DType dtype, Shape shape) {
        Objects.requireNonNull(memory, "memory");
        Objects.requireNonNull(arena, "arena");
        return new Tensor(memory.allocate(arena, bytesOf(dtype, shape)), dtype, shape, shape.contiguousStrides(), 0, memory);
    }

    /** The bytes a contiguous {@code dtype} tensor of {@code shape} takes; too many is an IllegalArgumentException. */
    private static long bytesOf(DType dtype, Shape shape) {
        Objects.requireNonNull(dtype, "dtype");
        Objects.requireNonNull(shape, "shape");
        try {
            return Math.multiplyExact(shape.size(), (long) dtype.byteSize());
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("shape " + shape + " of " + dtype.shortName() + " is too large to allocate", e);
        }
    }

    /**
     * A contiguous tensor over existing device memory (a slice of a planned buffer), neither copied nor
     * owned.
     *
     * @throws IllegalArgumentException if the segment is too small or not aligned for {@code dtype}
     */
    public static Tensor wrap(MemorySegment deviceSegment, DType dtype, Shape shape, DeviceMemory memory) {
        Objects.requireNonNull(memory, "memory");
        Tensor host = wrap(deviceSegment, dtype, shape); // the same size and alignment checks
        return new Tensor(host.storage, dtype, shape, host.strides, 0, memory);
    }

    /** A zero-filled contiguous tensor. */
    public static Tensor zeros(Arena arena, DType dtype, long... dims) {
        return zeros(arena, dtype, Shape.of(dims));
    }

    /** A contiguous f32 tensor holding {@code data} (copied), shaped {@code dims}. */
    public static Tensor of(Arena arena, float[] data, long... dims) {
        return of(arena, DType.F32, data, dims);
    }

    /** A contiguous f64 tensor holding {@code data} (copied), shaped {@code dims}. */
    public static Tensor of(Arena arena, double[] data, long... dims) {
        Objects.requireNonNull(data, "data");
        Shape s = Shape.of(dims);
        checkLength("data", data.length, s);
        Tensor t = zeros(arena, DType.F64, s);
        MemorySegment.copy(data, 0, t.storage, ValueLayout.JAVA_DOUBLE, 0, data.length);
        return t;
    }

    /** A contiguous tensor of {@code dtype} holding {@code data} converted (bf16 rounds to nearest even). */
    public static Tensor of(Arena arena, DType dtype, float[] data, long... dims) {
        Objects.requireNonNull(data, "data");
        Shape s = Shape.of(dims);
        checkLength("data", data.length, s);
        Tensor t = zeros(arena, dtype, s);
        switch (dtype) {
            case F32 -> MemorySegment.copy(data, 0, t.storage, ValueLayout.JAVA_FLOAT, 0, data.length);
            case F64, BF16 -> {
                for (int i = 0; i < data.length; i++) {
                    t.setFlat(i, data[i]);
                }
            }
        }
        return t;
    }

    /** A contiguous tensor of {@code dtype} holding {@code data} converted. */
    public static Tensor of(Arena arena, DType dtype, double[] data, long... dims) {
        Objects.requireNonNull(data, "data");
        Shape s = Shape.of(dims);
        checkLength("data", data.length, s);
        Tensor t = zeros(arena, dtype, s);
        for (int i = 0; i < data.length; i++) {
            t.setFlat(i, data[i]);
        }
        return t;
    }

    /** A rank-0 tensor. */
    public static Tensor scalar(Arena arena, DType dtype, double value) {
        return of(arena, dtype, new double[] {value});
    }

    /** A tensor filled with {@code value}. */
    public static Tensor full(Arena arena, DType dtype, Shape shape, double value) {
        Tensor t = zeros(arena, dtype, shape);
        if (Double.doubleToRawLongBits(value) != 0) { // -0.0 must be written: zeros are +0.0
            for (long i = 0; i < shape.size(); i++) {
                t.setFlat(i, value);
            }
        }
        return t;
    }

    /**
     * One-hot rows: a {@code [labels.length, classes]} tensor with 1 at each row's label.
     *
     * @throws IllegalArgumentException if a label is outside {@code [0, classes)}
     */
    public static Tensor oneHot(Arena arena, DType dtype, int[] labels, int classes) {
        if (classes <= 0) {
            throw new IllegalArgumentException("classes must be > 0, got " + classes);
        }
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= classes) {
                throw new IllegalArgumentException("labels[" + i + "] = " + labels[i] + " is outside [0, " + classes + ")");
            }
        }
        Tensor t = zeros(arena, dtype, labels.length, classes);
        for (int i = 0; i < labels.length; i++) {
            t.setFlat((long) i * classes + labels[i], 1.0);
        }
        return t;
    }

    private static void checkLength(String name, int length, Shape s) {
        if (length != s.size()) {
            throw new IllegalArgumentException(name + " has " + length + " elements but shape " + s + " needs " + s.size());
        }
    }

    // ---------------------------------------------------------------- properties

    public DType dtype() {
        return dtype;
    }

    public Shape shape() {
        return shape;
    }

    public TensorSpec spec() {
        return new TensorSpec(shape, dtype);
    }

    public int rank() {
        return shape.rank();
    }

    /** Number of elements. */
    public long size() {
        return shape.size();
    }

    /** Where the elements live: {@link Device#CPU} for host memory. */
    public Device device() {
        return memory == null ? Device.CPU : memory.device();
    }

    /** Whether the elements are in host memory (readable from Java). */
    public boolean isHost() {
        return memory == null;
    }

    /** The device memory the storage belongs to, or null for a host tensor. */
    public DeviceMemory deviceMemory() {
        return memory;
    }

    /** Strides in elements (a copy). */
    public long[] strides() {
        return strides.clone();
    }

    /** Offset of the first element from the start of the storage, in elements. */
    public long offset() {
        return offset;
    }

    /** The whole storage segment this tensor views (possibly shared with other views). */
    public MemorySegment storage() {
        return storage;
    }

    /** The address of element [0, ..., 0] as a segment that starts there: what native code is given. */
    public MemorySegment data() {
        checkAlive("tensor");
        // an empty view's offset may lie past the end of the storage (a slice starting at its end)
        return storage.asSlice(Math.min(offset * dtype.byteSize(), storage.byteSize()));
    }

    /** Whether the storage's arena is still open. */
    public boolean isAlive() {
        return storage.scope().isAlive();
    }

    /**
     * Throws {@link IllegalStateException} naming {@code argument} if this tensor's arena is closed.
     * Call before handing the tensor to native code.
     */
    public void checkAlive(String argument) {
        if (!storage.scope().isAlive()) {
            throw new IllegalStateException(argument + " (" + spec() + ") belongs to an arena that is already closed");
        }
    }

    /**
     * Whether elements are laid out row-major without gaps (size-1 dimensions may have any stride, and a
     * tensor without elements is contiguous whatever its strides).
     */
    public boolean isContiguous() {
        return StrideOrder.isContiguous(shape, strides);
    }

    /**
     * Whether the elements fill their bytes without gaps or overlaps in some axis order: contiguous, or a
     * permutation of a contiguous tensor (channels-last, for one). Size-1 dimensions may have any stride.
     */
    public boolean isDense() {
        return StrideOrder.isDense(shape, strides);
    }

    // ---------------------------------------------------------------- views

    /**
     * The same elements in a new shape (row-major order). A view when the strides allow it;
     * otherwise throws, asking for {@link #contiguous(Arena)} first.
     * One dimension may be -1 and is then inferred.
     */
    public Tensor reshape(long... dims) {
        Shape target = inferShape(dims);
        long[] newStrides = viewStrides(target);
        if (newStrides == null) {
            throw new IllegalArgumentException("cannot reshape a non-contiguous " + spec() + " with strides "
                    + Arrays.toString(strides) + " to " + target + " without a copy: call contiguous(arena) first");
        }
        return new Tensor(storage, dtype, target, newStrides, offset, memory);
    }

    /** Reshape as a view when possible, else a contiguous copy in {@code arena}. */
    public Tensor reshape(Arena arena, long... dims) {
        Shape target = inferShape(dims);
        long[] newStrides = viewStrides(target);
        if (newStrides != null) {
            return new Tensor(storage, dtype, target, newStrides, offset, memory);
        }
        return contiguous(arena).reshape(dims);
    }

    private Shape inferShape(long[] dims) {
        long known = 1;
        int infer = -1;
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] == -1) {
                if (infer >= 0) {
                    throw new IllegalArgumentException("reshape to " + Arrays.toString(dims) + ": only one dimension may be -1");
                }
                infer = i;
            } else if (dims[i] < 0) {
                throw new IllegalArgumentException("reshape to " + Arrays.toString(dims) + ": dimension " + i + " is negative");
            } else {
                known = Math.multiplyExact(known, dims[i]);
            }
        }
        long[] d = dims.clone();
        if (infer >= 0) {
            if (known == 0 || shape.size() % known != 0) {
                throw new IllegalArgumentException("cannot reshape " + shape + " to " + Arrays.toString(dims));
            }
            d[infer] = shape.size() / known;
        }
        Shape target = Shape.of(d);
        if (target.size() != shape.size()) {
            throw new IllegalArgumentException("cannot reshape " + shape + " (" + shape.size() + " elements) to "
                    + target + " (" + target.size() + " elements)");
        }
        return target;
    }

    /**
     * Strides that view this tensor's elements in {@code target} shape, or null if impossible. Walks the
     * source dims from the innermost, grouping runs that are contiguous with each other ("chunks"), and
     * requires each chunk to be exactly covered by consecutive target dims (the rule numpy and PyTorch use).
     */
    private long[] viewStrides(Shape target) {
        if (isContiguous() || shape.size() == 0 || rank() == 0) {
            return target.contiguousStrides();
        }
        long[] out = new long[target.rank()];
        int viewD = target.rank() - 1;
        long chunkBaseStride = strides[rank() - 1];
        long tensorNumel = 1;
        long viewNumel = 1;
        for (int d = rank() - 1; d >= 0; d--) {
            tensorNumel *= shape.dim(d);
            boolean chunkEnds = d == 0
                    || (shape.dim(d - 1) != 1 && strides[d - 1] != tensorNumel * chunkBaseStride);
            if (chunkEnds) {
                while (viewD >= 0 && (viewNumel < tensorNumel || target.dim(viewD) == 1)) {
                    out[viewD] = viewNumel * chunkBaseStride;
                    viewNumel *= target.dim(viewD);
                    viewD--;
                }
                if (viewNumel != tensorNumel) {
                    return null;
                }
                if (d > 0) {
                    chunkBaseStride = strides[d - 1];
                    tensorNumel = 1;
                    viewNumel = 1;
                }
            }
        }
        return viewD == -1 ? out : null;
    }

    /** Dimensions reordered: result dimension i is this tensor's dimension {@code perm[i]}. */
    public Tensor permute(int... perm) {
        if (perm.length != rank()) {
            throw new IllegalArgumentException("permutation " + Arrays.toString(perm) + " has " + perm.length
                    + " axes but the tensor has rank " + rank());
        }
        boolean[] seen = new boolean[rank()];
        long[] d = new long[rank()];
        long[] s = new long[rank()];
        for (int i = 0; i < perm.length; i++) {
            int a = shape.axis(perm[i]);
            if (seen[a]) {
                throw new IllegalArgumentException("permutation " + Arrays.toString(perm) + " repeats axis " + a);
            }
            seen[a] = true;
            d[i] = shape.dim(a);
            s[i] = strides[a];
        }
        return new Tensor(storage, dtype, Shape.of(d), s, offset, memory);
    }

    /** Two dimensions swapped. */
    public Tensor transpose(int axis0, int axis1) {
        int[] perm = new int[rank()];
        for (int i = 0; i < perm.length; i++) {
            perm[i] = i;
        }
        int a = shape.axis(axis0);
        int b = shape.axis(axis1);
        perm[a] = b;
        perm[b] = a;
        return permute(perm);
    }

    /** Elements {@code start, start+step, ...} below {@code end} along {@code axis}; negative bounds count from the end. */
    public Tensor slice(int axis, long start, long end, long step) {
        int a = shape.axis(axis);
        long n = shape.dim(a);
        if (step <= 0) {
            throw new IllegalArgumentException("slice step must be > 0, got " + step);
        }
        long s = start < 0 ? start + n : start;
        long e = end < 0 ? end + n : end;
        if (s < 0 || s > n || e < s || e > n) {
            throw new IllegalArgumentException("slice [" + start + ", " + end + ") is out of range for axis " + axis
                    + " of size " + n);
        }
        long count = (e - s + step - 1) / step;
        long[] st = strides.clone();
        st[a] = strides[a] * step;
        return new Tensor(storage, dtype, shape.with(a, count), st, offset + s * strides[a], memory);
    }

    /** Elements {@code [start, end)} along {@code axis}. */
    public Tensor slice(int axis, long start, long end) {
        return slice(axis, start, end, 1);
    }

    /** A view with a size-1 dimension inserted at {@code axis} (0..rank). */
    public Tensor unsqueeze(int axis) {
        int a = axis < 0 ? axis + rank() + 1 : axis;
        if (a < 0 || a > rank()) {
            throw new IllegalArgumentException("unsqueeze axis " + axis + " is out of range for rank " + rank());
        }
        long[] d = new long[rank() + 1];
        long[] s = new long[rank() + 1];
        for (int i = 0, j = 0; i < d.length; i++) {
            if (i == a) {
                d[i] = 1;
                s[i] = 0;
            } else {
                d[i] = shape.dim(j);
                s[i] = strides[j++];
            }
        }
        return new Tensor(storage, dtype, Shape.of(d), s, offset, memory);
    }

    /**
     * A view that repeats size-1 dimensions (stride 0) and prepends new ones, numpy-style.
     *
     * @throws IllegalArgumentException if this shape does not broadcast to {@code target}
     */
    public Tensor broadcastTo(Shape target) {
        int r = target.rank();
        if (r < rank()) {
            throw new IllegalArgumentException("cannot broadcast " + shape + " to the lower-rank " + target);
        }
        long[] s = new long[r];
        for (int i = 0; i < r; i++) {
            int j = i - (r - rank());
            if (j < 0) {
                s[i] = 0;
            } else if (shape.dim(j) == target.dim(i)) {
                s[i] = shape.dim(j) == 1 ? 0 : strides[j];
            } else if (shape.dim(j) == 1) {
                s[i] = 0;
            } else {
                throw new IllegalArgumentException("cannot broadcast " + shape + " to " + target + ": dimension " + j
                        + " is " + shape.dim(j));
            }
        }
        return new Tensor(storage, dtype, target, s, offset, memory);
    }

    // ---------------------------------------------------------------- host <-> device

    /**
     * This tensor if it is on the host; otherwise a host tensor in {@code arena} with the same shape and
     * strides, holding a copy of the storage range this view covers (one device-to-host copy, which waits
     * for the device's pending work).
     */
    public Tensor toHost(Arena arena) {
        if (memory == null) {
            return this;
        }
        checkAlive("tensor");
        if (size() == 0) {
            return zeros(arena, dtype, shape);
        }
        long lo = offset;
        long hi = offset;
        for (int i = 0; i < rank(); i++) {
            long span = (shape.dim(i) - 1) * strides[i];
            lo += Math.min(0, span);
            hi += Math.max(0, span);
        }
        long bytes = (hi - lo + 1) * dtype.byteSize();
        MemorySegment host = HostMemory.allocate(arena, bytes);
        memory.copyToHost(storage.asSlice(lo * dtype.byteSize(), bytes), host, bytes);
        return new Tensor(host, dtype, shape, strides.clone(), offset - lo, null);
    }

    /**
     * A contiguous copy of this tensor in {@code memory}, allocated in {@code arena} (from the host, or
     * from a device tensor of the same memory).
     */
    public Tensor toDevice(DeviceMemory memory, Arena arena) {
        Objects.requireNonNull(memory, "memory");
        checkAlive("tensor");
        Tensor t = empty(memory, arena, dtype, shape);
        t.copyFrom(this);
        return t;
    }

    private void checkHostAccess(String what) {
        if (memory != null) {
            throw new IllegalStateException(what + " reads or writes host memory, but this " + spec() + " is on "
                    + device() + ": copy it with toHost(arena) first, or use the backend's ops");
        }
    }

    /** Runs {@code read} on a host copy of this device tensor (a temporary, freed at once). */
    private <R> R onHostCopy(java.util.function.Function<Tensor, R> read) {
        try (Arena tmp = Arena.ofConfined()) {
            return read.apply(toHost(tmp));
        }
    }

    // ---------------------------------------------------------------- element access

    /** Storage offsets (in elements) of every element, row-major. */
    long[] elementOffsets() {
        long n = size();
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException(spec() + " has too many elements for a Java array");
        }
        long[] out = new long[(int) n];
        if (n == 0) {
            return out;
        }
        int r = rank();
        long[] idx = new long[r];
        long off = offset;
        for (int k = 0; k < n; k++) {
            out[k] = off;
            for (int d = r - 1; d >= 0; d--) {
                idx[d]++;
                off += strides[d];
                if (idx[d] < shape.dim(d)) {
                    break;
                }
                off -= strides[d] * idx[d];
                idx[d] = 0;
            }
        }
        return out;
    }

    private double readAt(long elementOffset) {
        return switch (dtype) {
            case F32 -> storage.getAtIndex(ValueLayout.JAVA_FLOAT, elementOffset);
            case F64 -> storage.getAtIndex(ValueLayout.JAVA_DOUBLE, elementOffset);
            case BF16 -> DType.bf16ToFloat(storage.getAtIndex(ValueLayout.JAVA_SHORT, elementOffset));
        };
    }

    private void writeAt(long elementOffset, double v) {
        switch (dtype) {
            case F32 -> storage.setAtIndex(ValueLayout.JAVA_FLOAT, elementOffset, (float) v);
            case F64 -> storage.setAtIndex(ValueLayout.JAVA_DOUBLE, elementOffset, v);
            case BF16 -> storage.setAtIndex(ValueLayout.JAVA_SHORT, elementOffset, DType.doubleToBf16(v));
        }
    }

    /** Writes element {@code i} of a contiguous tensor (row-major index). */
    private void setFlat(long i, double v) {
        writeAt(offset + i, v);
    }

    /** The element at {@code index} (one index per dimension), widened to double. */
    public double get(long... index) {
        if (memory != null) {
            return onHostCopy(h -> h.get(index));
        }
        return readAt(offsetOf(index));
    }

    /** Writes the element at {@code index}; tensors are views, so every view of that storage sees it. */
    public void set(double value, long... index) {
        checkHostAccess("set");
        writeAt(offsetOf(index), value);
    }

    private long offsetOf(long[] index) {
        if (index.length != rank()) {
            throw new IllegalArgumentException("index " + Arrays.toString(index) + " has " + index.length
                    + " components for a tensor of rank " + rank());
        }
        long off = offset;
        for (int i = 0; i < index.length; i++) {
            if (index[i] < 0 || index[i] >= shape.dim(i)) {
                throw new IndexOutOfBoundsException("index " + Arrays.toString(index) + " is outside shape " + shape);
            }
            off += index[i] * strides[i];
        }
        return off;
    }

    /** All elements in row-major order, widened to double. */
    public double[] toDoubleArray() {
        checkAlive("tensor");
        if (memory != null) {
            return onHostCopy(Tensor::toDoubleArray);
        }
        if (size() == 0) {
            return new double[0]; // its offset may point past the storage: nothing to read
        }
        if (dtype == DType.F64 && isContiguous()) {
            double[] out = new double[Math.toIntExact(size())];
            MemorySegment.copy(storage, ValueLayout.JAVA_DOUBLE, offset * 8, out, 0, out.length);
            return out;
        }
        long[] offs = elementOffsets();
        double[] out = new double[offs.length];
        for (int i = 0; i < offs.length; i++) {
            out[i] = readAt(offs[i]);
        }
        return out;
    }

    /** All elements in row-major order as floats (f64 is rounded). */
    public float[] toFloatArray() {
        checkAlive("tensor");
        if (memory != null) {
            return onHostCopy(Tensor::toFloatArray);
        }
        if (size() == 0) {
            return new float[0];
        }
        if (dtype == DType.F32 && isContiguous()) {
            float[] out = new float[Math.toIntExact(size())];
            MemorySegment.copy(storage, ValueLayout.JAVA_FLOAT, offset * 4, out, 0, out.length);
            return out;
        }
        if (dtype == DType.F32) {
            return StridedFloats.gather(storage, shape, strides, offset);
        }
        long[] offs = elementOffsets();
        float[] out = new float[offs.length];
        for (int i = 0; i < offs.length; i++) {
            out[i] = (float) readAt(offs[i]);
        }
        return out;
    }

    /**
     * Overwrites every element from {@code values} in row-major order (converted to this dtype).
     * Views that overlap themselves (a stride 0 in a dimension of size above 1, as {@link #broadcastTo}
     * makes) cannot be written: that throws {@link IllegalArgumentException}.
     */
    public void copyFrom(double[] values) {
        checkAlive("tensor");
        checkWritable(values.length);
        if (memory != null) {
            uploadFrom(arena -> of(arena, dtype, values, shape.toArray()));
            return;
        }
        if (size() == 0) {
            return;
        }
        if (dtype == DType.F64 && isContiguous()) {
            MemorySegment.copy(values, 0, storage, ValueLayout.JAVA_DOUBLE, offset * 8, values.length);
            return;
        }
        long[] offs = elementOffsets();
        for (int i = 0; i < offs.length; i++) {
            writeAt(offs[i], values[i]);
        }
    }

    /** Overwrites every element from {@code values} in row-major order; overlapping views cannot be written. */
    public void copyFrom(float[] values) {
        checkAlive("tensor");
        checkWritable(values.length);
        if (memory != null) {
            uploadFrom(arena -> of(arena, dtype, values, shape.toArray()));
            return;
        }
        if (size() == 0) {
            return;
        }
        if (dtype == DType.F32 && isContiguous()) {
            MemorySegment.copy(values, 0, storage, ValueLayout.JAVA_FLOAT, offset * 4, values.length);
            return;
        }
        long[] offs = elementOffsets();
        for (int i = 0; i < offs.length; i++) {
            writeAt(offs[i], values[i]);
        }
    }

    /** Writes a contiguous device tensor from a host tensor that {@code make} builds in a temporary arena. */
    private void uploadFrom(java.util.function.Function<Arena, Tensor> make) {
        if (!isContiguous()) {
            throw new IllegalArgumentException("cannot copy host values into the non-contiguous " + spec() + " on " + device()
                    + " with strides " + Arrays.toString(strides) + ": write a contiguous tensor and copy it with an op");
        }
        if (size() == 0) {
            return;
        }
        try (Arena tmp = Arena.ofConfined()) {
            Tensor host = make.apply(tmp);
            memory.copyFromHost(host.storage, data(), size() * dtype.byteSize());
        }
    }

    private void checkWritable(int length) {
        if (length != size()) {
            throw new IllegalArgumentException("values has " + length + " elements but the tensor " + spec()
                    + " has " + size());
        }
        for (int i = 0; i < rank(); i++) {
            if (strides[i] == 0 && shape.dim(i) > 1) {
                throw new IllegalArgumentException("cannot copy into " + spec() + " with strides " + Arrays.toString(strides)
                        + ": its elements overlap (dimension " + i + " repeats one element)");
            }
        }
    }

    /** Copies every element of {@code src} (same shape, any dtype and strides) into this tensor. */
    public void copyFrom(Tensor src) {
        if (!src.shape.equals(shape)) {
            throw new IllegalArgumentException("cannot copy " + src.spec() + " into " + spec() + ": shapes differ");
        }
        src.checkAlive("source");
        checkAlive("tensor");
        if ((memory != null || src.memory != null) && src.dtype == dtype && src.isContiguous() && isContiguous() && size() > 0) {
            long bytes = size() * dtype.byteSize();
            if (src.memory == null) {
                memory.copyFromHost(src.data(), data(), bytes);
            } else if (memory == null) {
                src.memory.copyToHost(src.data(), data(), bytes);
            } else if (memory == src.memory) {
                memory.copyOnDevice(src.data(), data(), bytes);
            } else {
                copyFrom(src.toDoubleArray());
            }
            return;
        }
        // (a source overlapping this tensor goes through the array copy, which reads everything first)
        if (memory == null && src.memory == null && src.dtype == dtype && isContiguous()
                && data().asOverlappingSlice(src.storage).isEmpty()) {
            StridedCopy.toContiguous(src.storage, dtype.byteSize(), shape, src.strides, src.offset, data());
            return;
        }
        copyFrom(src.toDoubleArray());
    }

    /** A contiguous copy in {@code arena} (of this dtype). */
    public Tensor contiguous(Arena arena) {
        return to(arena, dtype);
    }

    /** A contiguous copy in {@code arena} converted to {@code target}. */
    public Tensor to(Arena arena, DType target) {
        checkHostAccess("to(arena, dtype) makes a host copy and");
        Tensor t = zeros(arena, target, shape);
        if (dtype == target && isContiguous()) {
            checkAlive("tensor");
            if (size() == 0) {
                return t;
            }
            MemorySegment.copy(storage, offset * dtype.byteSize(), t.storage, 0, size() * dtype.byteSize());
        } else if (dtype == target) {
            checkAlive("tensor");
            StridedCopy.toContiguous(storage, dtype.byteSize(), shape, strides, offset, t.storage);
        } else {
            t.copyFrom(toDoubleArray());
        }
        return t;
    }

    /** The single element of a tensor with one element. */
    public double item() {
        if (size() != 1) {
            throw new IllegalStateException("item() needs exactly one element, but the tensor is " + spec());
        }
        if (memory != null) {
            return onHostCopy(Tensor::item);
        }
        return readAt(offset);
    }

    // ---------------------------------------------------------------- printing

    /**
     * Like {@code Tensor[f32 [2, 3]]} followed by the values, nested by dimension; large tensors show
     * the first and last three entries of each dimension.
     */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Tensor[").append(dtype.shortName()).append(' ').append(shape);
        if (!isContiguous()) {
            sb.append(", strides=").append(Arrays.toString(strides));
        }
        sb.append(']');
        if (memory != null) {
            sb.append(" on ").append(device());
        }
        if (!isAlive()) {
            return sb.append(" (arena closed)").toString();
        }
        sb.append('\n');
        if (memory != null) {
            String host = onHostCopy(Tensor::toString);
            return sb.append(host, host.indexOf('\n') + 1, host.length()).toString();
        }
        return TensorFormat.appendValues(sb, shape, strides, offset, this::readAt).toString();
    }
}
