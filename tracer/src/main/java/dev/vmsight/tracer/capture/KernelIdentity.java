package dev.vmsight.tracer.capture;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * The build identity of a kernel: the SHA-256 of its {@code .text} section as the ELF vmlinux
 * holds it (found through the section headers), so two kernels with the same release name but
 * other code differ, and a re-packaged kernel with the same code does not.
 */
final class KernelIdentity {
    private static final int MAX_TEXT = 1 << 30;

    private KernelIdentity() { }

    /** Lower-case hex SHA-256 of {@code vmlinux}'s .text; errors name the file and what is wrong with it. */
    static String textSha256(Path vmlinux) {
        try (FileChannel ch = FileChannel.open(vmlinux, StandardOpenOption.READ)) {
            ByteBuffer eh = read(ch, 0, 64, vmlinux, "ELF header");
            if (eh.getInt(0) != 0x464C457F || eh.get(4) != 2 || eh.get(5) != 1) {
                throw new IllegalArgumentException(vmlinux + " is not a little-endian ELF64 file (expected the decompressed vmlinux)");
            }
            long shoff = eh.getLong(0x28);
            int shentsize = Short.toUnsignedInt(eh.getShort(0x3A));
            int shnum = Short.toUnsignedInt(eh.getShort(0x3C));
            int shstrndx = Short.toUnsignedInt(eh.getShort(0x3E));
            if (shoff <= 0 || shentsize < 64 || shnum == 0 || shstrndx >= shnum) {
                throw new IllegalArgumentException(vmlinux + " has no usable section headers (e_shoff 0x" + Long.toHexString(shoff)
                        + ", e_shnum " + shnum + ")");
            }
            ByteBuffer sh = read(ch, shoff, shentsize * shnum, vmlinux, "section headers");
            int strAt = shstrndx * shentsize;
            ByteBuffer names = read(ch, sh.getLong(strAt + 0x18), (int) Math.min(sh.getLong(strAt + 0x20), 1 << 20), vmlinux,
                    "section name table");
            for (int i = 0; i < shnum; i++) {
                int at = i * shentsize;
                if (name(names, sh.getInt(at)).equals(".text")) {
                    long offset = sh.getLong(at + 0x18), size = sh.getLong(at + 0x20);
                    if (size <= 0 || size > MAX_TEXT || offset + size > ch.size()) {
                        throw new IllegalArgumentException(vmlinux + ": .text at file offset 0x" + Long.toHexString(offset)
                                + " size 0x" + Long.toHexString(size) + " does not fit the file of " + ch.size() + " bytes");
                    }
                    return sha256(ch, offset, size);
                }
            }
            throw new IllegalArgumentException(vmlinux + " has no .text section");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the kernel " + vmlinux + " (run scripts/fetch-kernel.sh): " + e.getMessage(), e);
        }
    }

    private static String sha256(FileChannel ch, long offset, long size) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
        ByteBuffer buf = ByteBuffer.allocate(1 << 20);
        for (long at = offset, end = offset + size; at < end; ) {
            buf.clear().limit((int) Math.min(buf.capacity(), end - at));
            int n = ch.read(buf, at);
            if (n < 0) {
                throw new IOException("end of file at offset " + at);
            }
            md.update(buf.array(), 0, n);
            at += n;
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static String name(ByteBuffer names, int at) {
        int end = at;
        while (end >= 0 && end < names.limit() && names.get(end) != 0) {
            end++;
        }
        if (at < 0 || end >= names.limit()) {
            return "";
        }
        byte[] b = new byte[end - at];
        names.get(at, b);
        return new String(b, StandardCharsets.US_ASCII);
    }

    private static ByteBuffer read(FileChannel ch, long offset, int length, Path file, String what) throws IOException {
        if (offset < 0 || length < 0 || offset + length > ch.size()) {
            throw new IllegalArgumentException(file + ": the " + what + " at offset 0x" + Long.toHexString(offset) + " (" + length
                    + " bytes) lie outside the file of " + ch.size() + " bytes");
        }
        ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (ch.read(b, offset + b.position()) < 0) {
                throw new IOException(what + " end early");
            }
        }
        return b.flip();
    }
}
