package org.lipa.bench.peers;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * ND4J (1.0.0-M2.1, its oneDNN AVX2 native build, called through JNI by JavaCPP) as a JVM peer: the
 * matmul figures of {@code OpBench} into a preallocated result ({@code mmuli}), and one training step of the
 * 784-256-256-10 MLP of {@code TrainStepBench} (forward, backward by hand in ND4J ops, Adam), since ND4J
 * itself has no autograd outside SameDiff. Compiled only in the Maven profile {@code peers}.
 *
 * <p>Both the plain and the oneDNN native builds are on the class path; {@code
 * -Dorg.bytedeco.javacpp.platform.extension=-onednn-avx2} (set in {@code @Fork} and by {@code bench/suite.sh})
 * pins JavaCPP to the oneDNN one, and setup fails if another build got loaded.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Dorg.bytedeco.javacpp.platform.extension=-onednn-avx2"})
public class Nd4jBench {
    @Param({"matmul64", "matmul256", "matmul1024", "matmul2048", "matmul128x784x512", "train_mlp"})
    public String figure;

    private INDArray a;
    private INDArray b;
    private INDArray c;
    private Mlp mlp;

    @Setup(Level.Trial)
    public void setUp() {
        Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
        Nd4j.getRandom().setSeed(1);
        requireOneDnnBuild();
        int[] mkn = switch (figure) {
            case "matmul64" -> new int[] {64, 64, 64};
            case "matmul256" -> new int[] {256, 256, 256};
            case "matmul1024" -> new int[] {1024, 1024, 1024};
            case "matmul2048" -> new int[] {2048, 2048, 2048};
            case "matmul128x784x512" -> new int[] {128, 784, 512};
            case "train_mlp" -> null;
            default -> throw new IllegalArgumentException("unknown figure " + figure);
        };
        if (mkn != null) {
            a = uniform(mkn[0], mkn[1]);
            b = uniform(mkn[1], mkn[2]);
            c = Nd4j.create(DataType.FLOAT, mkn[0], mkn[2]);
        } else {
            mlp = new Mlp(128, 784, 256, 256, 10);
        }
    }

    /** The loaded libnd4jcpu.so must be the one from the {@code linux-x86_64-onednn-avx2} jar. */
    private static void requireOneDnnBuild() {
        try {
            List<String> libs = Files.readAllLines(Path.of("/proc/self/maps")).stream()
                    .filter(l -> l.contains("libnd4jcpu.so")).map(l -> l.substring(l.indexOf('/'))).distinct().toList();
            if (libs.isEmpty() || !libs.stream().allMatch(l -> l.contains("onednn-avx2"))) {
                throw new IllegalStateException("ND4J loaded " + libs + ", not its onednn-avx2 build; run with "
                        + "-Dorg.bytedeco.javacpp.platform.extension=-onednn-avx2");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static INDArray uniform(long... shape) {
        return Nd4j.rand(DataType.FLOAT, shape).subi(0.5).muli(2);
    }

    @Benchmark
    public Object run() {
        if (mlp != null) {
            return mlp.step();
        }
        return a.mmuli(b, c);
    }

    /** A ReLU MLP trained on a fixed random batch with softmax cross-entropy and Adam (lr 1e-4). */
    static final class Mlp {
        private final INDArray x;
        private final INDArray y;
        private final INDArray[] w;
        private final INDArray[] bias;
        private final INDArray[][] moments;
        private int t;

        Mlp(int batch, int... widths) {
            int layers = widths.length - 1;
            x = Nd4j.randn(DataType.FLOAT, batch, widths[0]);
            y = Nd4j.create(DataType.FLOAT, batch, widths[layers]);
            for (int i = 0; i < batch; i++) {
                y.putScalar(i, i % widths[layers], 1);
            }
            w = new INDArray[layers];
            bias = new INDArray[layers];
            moments = new INDArray[layers * 2][];
            for (int l = 0; l < layers; l++) {
                w[l] = uniform(widths[l], widths[l + 1]).muli(Math.sqrt(6.0 / widths[l]));
                bias[l] = Nd4j.zeros(DataType.FLOAT, 1, widths[l + 1]);
                moments[2 * l] = new INDArray[] {Nd4j.zerosLike(w[l]), Nd4j.zerosLike(w[l])};
                moments[2 * l + 1] = new INDArray[] {Nd4j.zerosLike(bias[l]), Nd4j.zerosLike(bias[l])};
            }
        }

        double step() {
            int layers = w.length;
            INDArray[] z = new INDArray[layers];
            INDArray[] act = new INDArray[layers + 1];
            act[0] = x;
            for (int l = 0; l < layers; l++) {
                z[l] = act[l].mmul(w[l]).addiRowVector(bias[l]);
                act[l + 1] = l < layers - 1 ? Transforms.relu(z[l], true) : z[l];
            }
            INDArray p = Transforms.softmax(z[layers - 1], true);
            long batch = x.size(0);
            double loss = -Transforms.log(p, true).muli(y).sumNumber().doubleValue() / batch;
            INDArray d = p.subi(y).divi(batch);
            t++;
            for (int l = layers - 1; l >= 0; l--) {
                INDArray gw = act[l].transpose().mmul(d);
                INDArray gb = d.sum(0).reshape(bias[l].shape());
                if (l > 0) {
                    d = d.mmul(w[l].transpose()).muli(z[l - 1].gt(0).castTo(DataType.FLOAT));
                }
                adam(w[l], gw, moments[2 * l]);
                adam(bias[l], gb, moments[2 * l + 1]);
            }
            return loss;
        }

        private void adam(INDArray param, INDArray g, INDArray[] mv) {
            double b1 = 0.9;
            double b2 = 0.999;
            double lr = 1e-4 * Math.sqrt(1 - Math.pow(b2, t)) / (1 - Math.pow(b1, t));
            mv[0].muli(b1).addi(g.mul(1 - b1));
            mv[1].muli(b2).addi(g.mul(g).muli(1 - b2));
            param.subi(mv[0].mul(lr).divi(Transforms.sqrt(mv[1], true).addi(1e-8)));
        }
    }
}
