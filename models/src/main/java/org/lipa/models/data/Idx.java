package org.lipa.models.data;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;

/**
 * The IDX format of MNIST and Fashion-MNIST: a magic number (two zero bytes, a type byte, the rank),
 * big-endian 32-bit dimensions, then the data. Only unsigned bytes (type 0x08) are used by these sets.
 * Gzipped files are recognized by their magic bytes. Headers are checked against the file's size before
 * anything is allocated, so a hostile or truncated file is rejected with what was wrong.
 *
 * <p>Thread safety: stateless static methods; safe to call from any number of threads.
 */
public final class Idx {
    /** The dims and the bytes of an IDX file. */
    public record Array(int[] dims, byte[] data) {
        /** The extent of dimension {@code axis}. */
        public int size(int axis) {
            return dims[axis];
        }
    }

    private Idx() {
    }

    /**
     * Reads an unsigned-byte IDX file of the expected rank, plain or gzipped.
     *
     * @throws IOException naming the file when it cannot be read, is not such a file, or disagrees with its header
     */
    public static Array read(Path file, int rank) throws IOException {
        long fileSize = Files.size(file);
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file))) {
            raw.mark(2);
            int b0 = raw.read();
            int b1 = raw.read();
            raw.reset();
            boolean gz = b0 == 0x1f && b1 == 0x8b;
            InputStream in = gz ? new GZIPInputStream(raw) : raw;
            DataInputStream d = new DataInputStream(in);
            int magic = d.readInt();
            if ((magic >>> 16) != 0 || ((magic >>> 8) & 0xff) != 0x08) {
                throw new IOException(file + ": not an unsigned-byte IDX file (magic 0x" + Integer.toHexString(magic) + ")");
            }
            int r = magic & 0xff;
            if (r != rank) {
                throw new IOException(file + ": IDX rank " + r + ", expected " + rank);
            }
            int[] dims = new int[r];
            long total = 1;
            for (int i = 0; i < r; i++) {
                dims[i] = d.readInt();
                if (dims[i] < 0) {
                    throw new IOException(file + ": dimension " + i + " is negative (" + dims[i] + ")");
                }
                total *= dims[i];
                if (total > Integer.MAX_VALUE - 8) {
                    throw new IOException(file + ": declares more than 2^31 elements");
                }
            }
            if (!gz && 4 + 4L * r + total != fileSize) {
                throw new IOException(file + ": header declares " + total + " bytes of data but the file has "
                        + (fileSize - 4 - 4L * r));
            }
            if (gz && total > 64 * fileSize + 1024) {
                // gzip cannot expand beyond ~1000:1, and IDX data compresses far less: refuse absurd claims
                throw new IOException(file + ": header declares " + total + " bytes, implausible for a " + fileSize
                        + "-byte compressed file");
            }
            byte[] data = new byte[(int) total];
            d.readFully(data);
            if (gz && in.read() != -1) {
                throw new IOException(file + ": more data than the header declares");
            }
            return new Array(dims, data);
        } catch (java.io.EOFException e) {
            throw new IOException(file + ": truncated", e);
        } catch (java.util.zip.ZipException e) { // gzip's own messages do not name the file
            throw new IOException(file + ": corrupt gzip data (" + e.getMessage() + ")", e);
        }
    }
}
