package org.lipa.models.analysis;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import org.lipa.tensor.Tensor;
import org.lipa.tensor.TensorSpec;

/**
 * A point in parameter space as one flat double-precision vector with the tensor shapes it came from:
 * what directions, trajectories, deflation and interpolation work on. Parameter counts of the models
 * studied here (up to a few million) fit comfortably on the heap.
 *
 * <pre>{@code
 * Weights w = Weights.of(f.specs(), f.current());
 * Weights mid = w.plus(0.5, other.minus(w));
 * List<Tensor> p = mid.tensors(arena);
 * }</pre>
 *
 * <p>Thread safety: immutable, so safe to share between threads.
 */
public record Weights(List<TensorSpec> specs, double[] values) {
    public Weights {
        specs = List.copyOf(specs);
        long n = 0;
        for (TensorSpec s : specs) {
            n += s.shape().size();
        }
        if (n != values.length) {
            throw new IllegalArgumentException("values: " + values.length + " numbers for specs holding " + n);
        }
    }

    /** Copies the tensors into one vector. */
    public static Weights of(List<TensorSpec> specs, List<Tensor> tensors) {
        if (specs.size() != tensors.size()) {
            throw new IllegalArgumentException("tensors: expected " + specs.size() + ", got " + tensors.size());
        }
        int n = 0;
        for (TensorSpec s : specs) {
            n = Math.addExact(n, Math.toIntExact(s.shape().size()));
        }
        double[] v = new double[n];
        int at = 0;
        for (int i = 0; i < tensors.size(); i++) {
            if (!tensors.get(i).shape().equals(specs.get(i).shape())) {
                throw new IllegalArgumentException("tensors: #" + i + " is " + tensors.get(i).shape() + ", expected " + specs.get(i).shape());
            }
            double[] t = tensors.get(i).toDoubleArray();
            System.arraycopy(t, 0, v, at, t.length);
            at += t.length;
        }
        return new Weights(specs, v);
    }

    /** Zeros in the layout of {@code specs}. */
    public static Weights zeros(List<TensorSpec> specs) {
        long n = 0;
        for (TensorSpec s : specs) {
            n += s.shape().size();
        }
        return new Weights(specs, new double[Math.toIntExact(n)]);
    }

    /** The tensors (in each spec's dtype), allocated in {@code arena}. */
    public List<Tensor> tensors(Arena arena) {
        List<Tensor> out = new ArrayList<>(specs.size());
        int at = 0;
        for (TensorSpec s : specs) {
            int n = Math.toIntExact(s.shape().size());
            double[] part = new double[n];
            System.arraycopy(values, at, part, 0, n);
            out.add(Tensor.of(arena, s.dtype(), part, s.shape().toArray()));
            at += n;
        }
        return out;
    }

    /** Where tensor {@code i} starts in {@link #values()}. */
    public int offset(int i) {
        int at = 0;
        for (int k = 0; k < i; k++) {
            at += Math.toIntExact(specs.get(k).shape().size());
        }
        return at;
    }

    public int size() {
        return values.length;
    }

    /** this + s * d. */
    public Weights plus(double s, Weights d) {
        same(d);
        double[] r = values.clone();
        for (int i = 0; i < r.length; i++) {
            r[i] += s * d.values[i];
        }
        return new Weights(specs, r);
    }

    /** this - o. */
    public Weights minus(Weights o) {
        return plus(-1, o);
    }

    /** s * this. */
    public Weights times(double s) {
        double[] r = values.clone();
        for (int i = 0; i < r.length; i++) {
            r[i] *= s;
        }
        return new Weights(specs, r);
    }

    public double dot(Weights o) {
        same(o);
        double s = 0;
        for (int i = 0; i < values.length; i++) {
            s += values[i] * o.values[i];
        }
        return s;
    }

    public double norm() {
        return Math.sqrt(dot(this));
    }

    private void same(Weights o) {
        if (!o.specs.equals(specs)) {
            throw new IllegalArgumentException("weights of different layouts: " + specs + " and " + o.specs);
        }
    }
}
