package dev.vmsight.ir.verify.cpu;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The native side of the CPU oracle: a C harness (resource harness.c, built with gcc into
 * {@code .lab/bin/cpu-harness-<hash>} and rebuilt when the source changes) running as a
 * long-lived subprocess. See harness.c for the protocol.
 */
final class NativeCpu implements AutoCloseable {
    static final int WINDOW = 256;
    /** Longest code (one instruction or a short sequence) a request carries. */
    static final int MAX_CODE = 32;

    /** One run's input. */
    record Input(byte[] code, long[] gpr, long rflags, long[] xmm, byte[] window) { }

    /** One run's output; {@code signal} is 0 or the signal the instruction raised (8 = SIGFPE = #DE). */
    record Output(int signal, long[] gpr, long rflags, long[] xmm, byte[] window, boolean outsideDirty) { }

    /** xmm0..xmm3 travel as (low, high) pairs. */
    static final int XMM_LONGS = 8;

    private final Process process;
    private final OutputStream toHarness;
    private final DataInputStream fromHarness;
    final long insnAddress;
    final long windowAddress;

    private NativeCpu(Process process) throws IOException {
        this.process = process;
        this.toHarness = new BufferedOutputStream(process.getOutputStream(), 1 << 16);
        this.fromHarness = new DataInputStream(new BufferedInputStream(process.getInputStream(), 1 << 16));
        byte[] hdr = readWithTimeout(28);
        ByteBuffer b = ByteBuffer.wrap(hdr).order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[4];
        b.get(magic);
        if (!"VMSH".equals(new String(magic, StandardCharsets.US_ASCII)) || b.getInt() != 3) {
            throw new IOException("cpu harness answered with a bad header " + HexFormat.of().formatHex(hdr));
        }
        insnAddress = b.getLong();
        windowAddress = b.getLong();
        if (b.getInt() != WINDOW) {
            throw new IOException("cpu harness window size differs from " + WINDOW);
        }
    }

    private byte[] readWithTimeout(int n) throws IOException {
        try {
            return CompletableFuture.supplyAsync(() -> {
                try {
                    return fromHarness.readNBytes(n);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new IOException("cpu harness did not start (no header within 30 s): " + e.getMessage(), e);
        }
    }

    /** Builds the harness if needed (gcc) and starts it. */
    static NativeCpu start(Path root) throws IOException, InterruptedException {
        byte[] source;
        try (InputStream in = NativeCpu.class.getResourceAsStream("harness.c")) {
            if (in == null) {
                throw new IOException("resource dev/vmsight/ir/verify/cpu/harness.c is missing from the classpath");
            }
            source = in.readAllBytes();
        }
        String hash;
        try {
            hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(source)).substring(0, 12);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        Path bin = root.resolve(".lab/bin");
        Files.createDirectories(bin);
        Path exe = bin.resolve("cpu-harness-" + hash);
        if (!Files.isExecutable(exe)) {
            Path src = bin.resolve("cpu-harness-" + hash + ".c");
            Files.write(src, source);
            Tools.run(List.of("gcc", "-O2", "-Wall", "-o", exe.toString(), src.toString()), 120);
        }
        Process p = new ProcessBuilder(exe.toString()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        return new NativeCpu(p);
    }

    /** Runs every input (streamed from another thread so that neither pipe fills). */
    List<Output> run(List<Input> inputs) throws IOException {
        for (Input in : inputs) {
            if (in.code().length > MAX_CODE) {
                throw new IllegalArgumentException("form of " + in.code().length + " bytes is longer than the harness's "
                        + MAX_CODE + ": " + HexFormat.of().formatHex(in.code()));
            }
        }
        CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
            try {
                ByteBuffer b = ByteBuffer.allocate(2 + MAX_CODE + 17 * 8 + XMM_LONGS * 8 + WINDOW).order(ByteOrder.LITTLE_ENDIAN);
                for (Input in : inputs) {
                    b.clear();
                    b.put((byte) 1).put((byte) in.code().length).put(java.util.Arrays.copyOf(in.code(), MAX_CODE));
                    for (long r : in.gpr()) {
                        b.putLong(r);
                    }
                    b.putLong(in.rflags());
                    for (long x : in.xmm()) {
                        b.putLong(x);
                    }
                    b.put(in.window());
                    toHarness.write(b.array(), 0, b.position());
                }
                toHarness.flush();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        List<Output> out = new ArrayList<>(inputs.size());
        int rec = 1 + 17 * 8 + XMM_LONGS * 8 + WINDOW + 1;
        for (int i = 0; i < inputs.size(); i++) {
            byte[] r = fromHarness.readNBytes(rec);
            if (r.length != rec) {
                throw new IOException("cpu harness died (exit " + exitCode() + ") while running case " + i
                        + " code " + HexFormat.of().formatHex(inputs.get(i).code()));
            }
            ByteBuffer b = ByteBuffer.wrap(r).order(ByteOrder.LITTLE_ENDIAN);
            int sig = b.get() & 0xFF;
            long[] gpr = new long[16];
            for (int k = 0; k < 16; k++) {
                gpr[k] = b.getLong();
            }
            long fl = b.getLong();
            long[] xmm = new long[XMM_LONGS];
            for (int k = 0; k < XMM_LONGS; k++) {
                xmm[k] = b.getLong();
            }
            byte[] w = new byte[WINDOW];
            b.get(w);
            out.add(new Output(sig, gpr, fl, xmm, w, b.get() != 0));
        }
        writer.join();
        return out;
    }

    private String exitCode() {
        try {
            return process.waitFor(2, TimeUnit.SECONDS) ? String.valueOf(process.exitValue()) : "still running";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "unknown";
        }
    }

    @Override
    public void close() {
        try {
            toHarness.write(0);
            toHarness.flush();
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (IOException | InterruptedException e) {
            process.destroyForcibly();
        }
    }
}
