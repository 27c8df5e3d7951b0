package dev.vmsight.vmi.profile;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The structure layouts of one kernel build: byte offsets of the members a hand-written walker
 * reads, and the structures' sizes. This is what a LibVMI or Volatility tool is handed as its
 * profile; vmsight's trained monitors need none (their offsets are in the traced code), so a
 * profile serves only the hand-written walkers that are the benchmarks' denominator and an oracle
 * for tests. It is made from the kernel's own BTF by {@code pahole} (Debian's dwarves), the
 * type information every Debian kernel carries in its vmlinux, and kept beside it as a small
 * properties file ({@code STRUCT.MEMBER=offset}, {@code STRUCT.size=bytes}).
 */
public final class KernelProfile {
    /** The structures the hand-written walkers read. */
    public static final List<String> STRUCTS = List.of("task_struct", "list_head");

    private final String kernel;
    private final Map<String, Long> values;

    private KernelProfile(String kernel, Map<String, Long> values) {
        this.kernel = kernel;
        this.values = Collections.unmodifiableMap(new TreeMap<>(values));
    }

    /** Which kernel build this describes (the vmlinux it was made from). */
    public String kernel() { return kernel; }

    /** {@code STRUCT.MEMBER → offset} and {@code STRUCT.size → bytes}. */
    public Map<String, Long> values() { return values; }

    /** Byte offset of {@code member} in {@code struct}. */
    public long offset(String struct, String member) {
        return value(struct + "." + member);
    }

    /** Size of {@code struct} in bytes. */
    public long size(String struct) {
        return value(struct + ".size");
    }

    private long value(String key) {
        Long v = values.get(key);
        if (v == null) {
            throw new ProfileException("the profile of " + kernel + " has no " + key + " (it holds " + STRUCTS + " as pahole printed them)");
        }
        return v;
    }

    // "\tstruct list_head   tasks;   /*  2192    16 */", "\tchar  comm[16];  /*  2976    16 */", bitfields "/* 44: 3  4 */"
    private static final Pattern MEMBER = Pattern.compile("^\\t+[^/]*?[\\s*](\\w+)(?:\\[\\d*\\])*(?::\\d+)?;\\s*/\\*\\s*(\\d+)(?::\\s*\\d+)?\\s+\\d+\\s*\\*/");
    private static final Pattern STRUCT = Pattern.compile("^struct (\\w+) \\{");
    private static final Pattern SIZE = Pattern.compile("/\\* size: (\\d+),");

    /**
     * The profile in pahole's C-like output ({@code pahole -C task_struct,list_head}). Members of
     * anonymous unions and structs count as the structure's own (pahole prints them at their
     * offset in the outer structure), the first of a name wins.
     *
     * @throws ProfileException when a structure of {@link #STRUCTS} is missing or has no size
     */
    public static KernelProfile parsePahole(String kernel, String text) {
        Map<String, Long> values = new TreeMap<>();
        String struct = null;
        int lineNo = 0;
        for (String line : text.split("\n")) {
            lineNo++;
            if (struct == null) {
                Matcher s = STRUCT.matcher(line);
                if (s.find()) struct = s.group(1);
                continue;
            }
            if (line.startsWith("}")) {
                if (!values.containsKey(struct + ".size")) {
                    throw new ProfileException("pahole output for " + kernel + ", line " + lineNo + ": struct " + struct + " ends without its size");
                }
                struct = null;
                continue;
            }
            Matcher m = MEMBER.matcher(line);
            if (m.find()) {
                values.putIfAbsent(struct + "." + m.group(1), Long.parseLong(m.group(2)));
            }
            Matcher z = SIZE.matcher(line);
            if (z.find() && line.startsWith("\t/*")) {   // the outer structure's trailer, not a nested one
                values.put(struct + ".size", Long.parseLong(z.group(1)));
            }
        }
        for (String st : STRUCTS) {
            if (!values.containsKey(st + ".size")) {
                throw new ProfileException("pahole output for " + kernel + " has no struct " + st);
            }
        }
        return new KernelProfile(kernel, values);
    }

    /**
     * The profile of {@code vmlinux}: read from {@code profile.properties} beside it when that is
     * newer, else made with {@code pahole -F btf} and written there.
     *
     * @throws ProfileException when pahole is missing or fails, or the vmlinux has no BTF
     */
    public static KernelProfile ofVmlinux(Path vmlinux) {
        Path file = vmlinux.resolveSibling("profile.properties");
        String kernel = vmlinux.toAbsolutePath().getParent().getFileName() + "/" + vmlinux.getFileName();
        try {
            if (Files.isRegularFile(file) && Files.getLastModifiedTime(file).compareTo(Files.getLastModifiedTime(vmlinux)) >= 0) {
                return read(file);
            }
            KernelProfile p = parsePahole(kernel, pahole(vmlinux));
            p.write(file);
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException("kernel profile of " + vmlinux + ": " + e.getMessage(), e);
        }
    }

    private static String pahole(Path vmlinux) throws IOException {
        List<String> cmd = List.of("pahole", "-F", "btf", "-C", String.join(",", STRUCTS), vmlinux.toString());
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new ProfileException("cannot run pahole (Debian package dwarves; scripts/setup.sh installs it): " + e.getMessage());
        }
        byte[] out = p.getInputStream().readAllBytes();
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new ProfileException(String.join(" ", cmd) + " failed: " + new String(out, StandardCharsets.UTF_8).strip());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ProfileException("interrupted while running pahole on " + vmlinux);
        }
        return new String(out, StandardCharsets.UTF_8);
    }

    /** Reads a profile written by {@link #write}. */
    public static KernelProfile read(Path file) {
        Properties p = new Properties();
        try (var in = Files.newBufferedReader(file)) {
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read kernel profile " + file + ": " + e.getMessage(), e);
        }
        String kernel = p.getProperty("kernel");
        if (kernel == null) throw new ProfileException("kernel profile " + file + " names no kernel (not a vmsight profile?)");
        Map<String, Long> values = new TreeMap<>();
        for (String key : p.stringPropertyNames()) {
            if (key.equals("kernel")) continue;
            try {
                values.put(key, Long.parseLong(p.getProperty(key).trim()));
            } catch (NumberFormatException e) {
                throw new ProfileException("kernel profile " + file + ": " + key + " = '" + p.getProperty(key) + "' is not a number");
            }
        }
        return new KernelProfile(kernel, values);
    }

    /** Writes this profile as sorted properties, with a comment saying where it came from. */
    public void write(Path file) throws IOException {
        StringBuilder b = new StringBuilder("# vmsight kernel profile: structure offsets from the BTF of ").append(kernel)
                .append(" (pahole -F btf -C ").append(String.join(",", STRUCTS)).append(")\n");
        b.append("kernel=").append(kernel).append('\n');
        values.forEach((k, v) -> b.append(k).append('=').append(v).append('\n'));
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, b);
        Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    /** A profile that cannot be made or lacks what a walker needs. */
    public static final class ProfileException extends RuntimeException {
        public ProfileException(String message) {
            super(message);
        }
    }

    @Override
    public String toString() {
        return "KernelProfile[" + kernel + ", " + values.size() + " values]";
    }
}
