package dev.vmsight.jit;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.zip.CRC32;

/**
 * A disk cache of compiled monitor bundles, keyed by the program's digest and the kernel build it
 * was trained on (a program is only valid for that build). One file per key:
 * <pre>
 *   "VMJIT\0\0\1"  magic (8 bytes)     u32 format version
 *   utf  kernel build                  utf  program digest       utf generator version
 *   u32  class length, class bytes     u32  CRC32 of everything before it
 * </pre>
 * A damaged, truncated or foreign entry is reported by {@link #lookup} with the file and byte
 * offset and then replaced by a fresh compilation: a cache never stops a monitor from running.
 */
public final class BundleCache {
    static final byte[] MAGIC = {'V', 'M', 'J', 'I', 'T', 0, 0, 1};
    static final int VERSION = 1;
    /** Bump when the generated code changes meaning: old bundles then miss. */
    static final String GENERATOR = "jit-3";

    private final Path dir;

    public BundleCache(Path dir) {
        this.dir = dir;
    }

    /** The default location: $XDG_CACHE_HOME/vmsight/monitors or ~/.cache/vmsight/monitors. */
    public static BundleCache userDefault() {
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return new BundleCache(base.resolve("vmsight").resolve("monitors"));
    }

    public Path directory() { return dir; }

    /** How a {@link #compile} call was served. */
    public enum Outcome { HIT, MISS, REPLACED_DAMAGED }

    /** A compiled monitor and how the cache served it ({@code problem} names a damaged entry, else null). */
    public record Served(CompiledMonitor monitor, Outcome outcome, Path file, String problem) { }

    /** The file of a program compiled for a kernel build. */
    public Path fileFor(JitProgram program, String kernelBuild) {
        return dir.resolve(key(program.digest(), kernelBuild) + ".vmjit");
    }

    /** The cached bundle if present and intact, else compiles and stores it. */
    public Served compile(JitProgram program, String kernelBuild) {
        String digest = program.digest();
        Path file = dir.resolve(key(digest, kernelBuild) + ".vmjit");
        String problem = null;
        if (Files.exists(file)) {
            try {
                byte[] bytes = read(file, kernelBuild, digest);
                return new Served(MonitorCompiler.define(program, bytes), Outcome.HIT, file, null);
            } catch (IllegalArgumentException e) {
                problem = e.getMessage();
            }
        }
        byte[] bytes = MonitorCompiler.emit(program);
        write(file, kernelBuild, digest, bytes);
        return new Served(MonitorCompiler.define(program, bytes), problem == null ? Outcome.MISS : Outcome.REPLACED_DAMAGED,
                file, problem);
    }

    private static String key(String digest, String kernelBuild) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(GENERATOR.getBytes(StandardCharsets.UTF_8));
            md.update((byte) 0);
            md.update(kernelBuild.getBytes(StandardCharsets.UTF_8));
            md.update((byte) 0);
            md.update(digest.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(md.digest(), 0, 20);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 unavailable", e);
        }
    }

    private static void write(Path file, String kernelBuild, String digest, byte[] classBytes) {
        try {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(buf);
            out.write(MAGIC);
            out.writeInt(VERSION);
            out.writeUTF(kernelBuild);
            out.writeUTF(digest);
            out.writeUTF(GENERATOR);
            out.writeInt(classBytes.length);
            out.write(classBytes);
            CRC32 crc = new CRC32();
            crc.update(buf.toByteArray());
            out.writeInt((int) crc.getValue());
            out.flush();
            Files.createDirectories(file.getParent());
            Path tmp = Files.createTempFile(file.getParent(), "bundle", ".tmp");
            Files.write(tmp, buf.toByteArray());
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the monitor bundle " + file + ": " + e.getMessage(), e);
        }
    }

    /** Reads and checks one entry; IllegalArgumentException names the file and byte offset of the problem. */
    static byte[] read(Path file, String kernelBuild, String digest) {
        byte[] all;
        try {
            all = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("monitor bundle " + file + " unreadable: " + e.getMessage(), e);
        }
        ByteBuffer b = ByteBuffer.wrap(all);
        DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(all));
        int at = 0;
        try {
            byte[] magic = new byte[MAGIC.length];
            in.readFully(magic);
            if (!java.util.Arrays.equals(magic, MAGIC)) {
                throw bad(file, 0, "not a vmsight monitor bundle (bad magic)");
            }
            at = 8;
            int version = in.readInt();
            if (version != VERSION) {
                throw bad(file, at, "format version " + version + ", this build reads " + VERSION);
            }
            at = all.length - in.available();
            String build = in.readUTF();
            if (!build.equals(kernelBuild)) {
                throw bad(file, at, "compiled for kernel build " + build + ", not " + kernelBuild);
            }
            at = all.length - in.available();
            String d = in.readUTF();
            if (!d.equals(digest)) {
                throw bad(file, at, "holds program " + d + ", not " + digest);
            }
            at = all.length - in.available();
            in.readUTF();
            at = all.length - in.available();
            int len = in.readInt();
            if (len <= 0 || len > in.available() - 4) {
                throw bad(file, at, "class length " + len + " exceeds the file (" + all.length + " bytes)");
            }
            byte[] cls = new byte[len];
            in.readFully(cls);
            at = all.length - in.available();
            int stored = in.readInt();
            CRC32 crc = new CRC32();
            crc.update(all, 0, at);
            if ((int) crc.getValue() != stored) {
                throw bad(file, at, "CRC mismatch: stored 0x" + Integer.toHexString(stored) + ", computed 0x"
                        + Long.toHexString(crc.getValue()));
            }
            if (in.available() != 0) {
                throw bad(file, at + 4, in.available() + " trailing bytes");
            }
            return cls;
        } catch (EOFException e) {
            throw bad(file, b.limit(), "truncated after " + all.length + " bytes (while reading the field at offset " + at + ")");
        } catch (IOException e) {
            throw bad(file, at, e.getMessage());
        }
    }

    private static IllegalArgumentException bad(Path file, int offset, String what) {
        return new IllegalArgumentException("monitor bundle " + file + " at byte " + offset + ": " + what);
    }
}
