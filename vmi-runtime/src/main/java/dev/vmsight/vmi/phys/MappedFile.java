package dev.vmsight.vmi.phys;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A whole file mapped read-only, in windows of at most 1 GiB (one MappedByteBuffer is limited to
 * 2 GiB). Absolute bulk gets only, so concurrent readers need no locking.
 */
final class MappedFile implements AutoCloseable {
    private static final int WINDOW_SHIFT = 30;
    private static final long WINDOW = 1L << WINDOW_SHIFT;

    private final Path path;
    private final long length;
    private final MappedByteBuffer[] windows;

    private MappedFile(Path path, long length, MappedByteBuffer[] windows) {
        this.path = path;
        this.length = length;
        this.windows = windows;
    }

    /** Maps {@code path} READ_ONLY: the guest's memory is never written through us. */
    static MappedFile open(Path path, String what) {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long length = ch.size();
            if (length == 0) throw new IllegalArgumentException(what + " " + path + " is empty");
            int count = (int) ((length + WINDOW - 1) >>> WINDOW_SHIFT);
            MappedByteBuffer[] windows = new MappedByteBuffer[count];
            for (int i = 0; i < count; i++) {
                long start = (long) i << WINDOW_SHIFT;
                windows[i] = ch.map(FileChannel.MapMode.READ_ONLY, start, Math.min(WINDOW, length - start));
            }
            return new MappedFile(path, length, windows);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(what + " " + path + " does not exist", e);
        } catch (IOException e) {
            throw new UncheckedIOException(what + " " + path + " cannot be mapped: " + e.getMessage(), e);
        }
    }

    Path path() { return path; }

    long length() { return length; }

    /** Copies file bytes {@code [offset, offset+len)}; the caller checked the range against its map. */
    void read(long offset, byte[] dst, int off, int len) {
        if (offset < 0 || offset + len > length) {
            throw new IndexOutOfBoundsException("file offset 0x" + Long.toHexString(offset) + "+" + len
                    + " is beyond the end of " + path + " (0x" + Long.toHexString(length) + " bytes)");
        }
        while (len > 0) {
            MappedByteBuffer w = windows[(int) (offset >>> WINDOW_SHIFT)];
            int at = (int) (offset & (WINDOW - 1));
            int n = Math.min(len, w.capacity() - at);
            w.get(at, dst, off, n);
            offset += n;
            off += n;
            len -= n;
        }
    }

    /** A read-only slice of file bytes {@code [offset, offset+len)}, or null if it crosses a window or the end. */
    java.nio.ByteBuffer view(long offset, int len) {
        if (offset < 0 || offset + len > length) return null;
        MappedByteBuffer w = windows[(int) (offset >>> WINDOW_SHIFT)];
        int at = (int) (offset & (WINDOW - 1));
        if (w == null || at + len > w.capacity()) return null;
        return w.slice(at, len);
    }

    @Override
    public void close() {
        // MappedByteBuffers are unmapped by the GC; dropping the references is all Java 17 allows.
        java.util.Arrays.fill(windows, null);
    }
}
