package org.lipa.models.arch;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.lipa.models.nn.BatchNorm;
import org.lipa.models.nn.Container;
import org.lipa.models.nn.Conv2d;
import org.lipa.models.nn.Linear;
import org.lipa.models.nn.Module;
import org.lipa.models.nn.Sequential;
import org.lipa.ops.Ops;
import org.lipa.tensor.DType;
import org.lipa.tensor.Shape;
import org.lipa.tensor.Tensor;

/**
 * A CIFAR-style ResNet (He et al., 2016, section 4.2): a 3x3 stem of {@code width} channels, three stages
 * of {@code blocks} basic blocks with {@code width, 2 width, 4 width} channels (the later two starting with
 * stride 2), global average pooling and a linear classifier: {@code 6 blocks + 2} layers. Works on any
 * image size (MNIST's 28x28 as CIFAR's 32x32).
 *
 * <p>{@code shortcuts=false} gives the plain network of the same depth, the paper's comparison;
 * {@link Norm#NONE} removes batch norm; {@link Norm#FIXUP} removes it and adds Fixup's scalar biases and
 * multiplier (Zhang et al., 2019), to be initialized with {@code ModuleInit.fixup}. State names follow
 * torchvision: {@code conv1, bn1, layer1.0.conv1, layer1.0.bn1, ..., layer2.0.shortcut.0, fc}.
 *
 * <p>Thread safety: not safe while its tensors are being updated (training, loading weights); a module whose state is not changing may be traced and run from many threads.
 */
public final class ResNet extends Container {
    /** What normalizes the convolutions. */
    public enum Norm { BATCH, NONE, FIXUP }

    private final Norm norm;

    public ResNet(Arena arena, Random rnd, int channels, int classes, int width, int blocks, Norm norm, boolean shortcuts) {
        if (channels <= 0 || classes <= 0 || width <= 0 || blocks <= 0) {
            throw new IllegalArgumentException("resnet: channels, classes, width and blocks must be > 0, got " + channels + ", "
                    + classes + ", " + width + ", " + blocks);
        }
        this.norm = norm;
        add("conv1", new Conv2d(arena, rnd, channels, width, 3, 1, 1, 1, norm == Norm.NONE));
        if (norm == Norm.BATCH) {
            add("bn1", new BatchNorm(arena, width));
        }
        int in = width;
        for (int stage = 0; stage < 3; stage++) {
            int out = width << stage;
            List<Module> list = new ArrayList<>();
            for (int b = 0; b < blocks; b++) {
                list.add(new BasicBlock(arena, rnd, in, out, b == 0 && stage > 0 ? 2 : 1, norm, shortcuts));
                in = out;
            }
            add("layer" + (stage + 1), new Sequential(list));
        }
        if (norm == Norm.FIXUP) {
            own.put("bias2", Tensor.zeros(arena, DType.F32, Shape.of(1)));
        }
        add("fc", new Linear(arena, rnd, in, classes, true));
    }

    /** The residual blocks in order, for initializers and per-block analyses. */
    public List<BasicBlock> blocks() {
        List<BasicBlock> all = new ArrayList<>();
        for (int stage = 1; stage <= 3; stage++) {
            for (Module m : ((Sequential) named().get("layer" + stage)).modules()) {
                all.add((BasicBlock) m);
            }
        }
        return all;
    }

    @Override
    public <T> T forward(Ops<T> ops, Map<String, T> s, T x) {
        T h = call("conv1", ops, s, x);
        if (norm == Norm.BATCH) {
            h = call("bn1", ops, s, h);
        }
        h = ops.relu(h);
        for (int stage = 1; stage <= 3; stage++) {
            h = call("layer" + stage, ops, s, h);
        }
        h = ops.mean(h, false, 2, 3);
        if (norm == Norm.FIXUP) {
            h = ops.add(h, s.get("bias2"));
        }
        return call("fc", ops, s, h);
    }

    /**
     * Two 3x3 convolutions with a shortcut (identity, or a strided 1x1 convolution with batch norm when the
     * shape changes; option B of the paper).
     */
    public static final class BasicBlock extends Container {
        private final Norm norm;
        private final boolean shortcut;
        private final boolean projection;

        BasicBlock(Arena arena, Random rnd, int in, int out, int stride, Norm norm, boolean shortcut) {
            this.norm = norm;
            this.shortcut = shortcut;
            this.projection = stride != 1 || in != out;
            boolean bias = norm == Norm.NONE;
            add("conv1", new Conv2d(arena, rnd, in, out, 3, stride, 1, 1, bias));
            if (norm == Norm.BATCH) {
                add("bn1", new BatchNorm(arena, out));
            }
            add("conv2", new Conv2d(arena, rnd, out, out, 3, 1, 1, 1, bias));
            if (norm == Norm.BATCH) {
                add("bn2", new BatchNorm(arena, out));
            }
            if (shortcut && projection) {
                Conv2d proj = new Conv2d(arena, rnd, in, out, 1, stride, 0, 1, bias);
                add("shortcut", norm == Norm.BATCH ? new Sequential(proj, new BatchNorm(arena, out)) : new Sequential(proj));
            }
            if (norm == Norm.FIXUP) {
                for (String b : List.of("bias1a", "bias1b", "bias2a", "bias2b")) {
                    own.put(b, Tensor.zeros(arena, DType.F32, Shape.of(1)));
                }
                own.put("scale", Tensor.full(arena, DType.F32, Shape.of(1), 1));
            }
        }

        /** Whether the block adds a shortcut: the identity, or the {@code shortcut} child when it has one. */
        public boolean hasShortcut() {
            return shortcut;
        }

        /** The convolutions of the residual branch, in order (what Fixup rescales and zeroes). */
        public List<Conv2d> branch() {
            return List.of((Conv2d) named().get("conv1"), (Conv2d) named().get("conv2"));
        }

        private <T> T plus(Ops<T> ops, Map<String, T> s, T x, String bias) {
            return norm == Norm.FIXUP ? ops.add(x, s.get(bias)) : x;
        }

        @Override
        public <T> T forward(Ops<T> ops, Map<String, T> s, T x) {
            T in = plus(ops, s, x, "bias1a");
            T h = call("conv1", ops, s, in);
            if (norm == Norm.BATCH) {
                h = call("bn1", ops, s, h);
            }
            h = ops.relu(plus(ops, s, h, "bias1b"));
            h = call("conv2", ops, s, plus(ops, s, h, "bias2a"));
            if (norm == Norm.BATCH) {
                h = call("bn2", ops, s, h);
            }
            if (norm == Norm.FIXUP) {
                h = ops.add(ops.mul(h, s.get("scale")), s.get("bias2b"));
            }
            if (shortcut) {
                h = ops.add(h, projection ? call("shortcut", ops, s, in) : x);
            }
            return ops.relu(h);
        }
    }
}
