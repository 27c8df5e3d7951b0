package dev.vmsight.tracer.lockstep;

import dev.vmsight.guests.ExecResult;
import dev.vmsight.guests.QemuGuest;
import dev.vmsight.guests.gdb.GdbClient;
import dev.vmsight.guests.gdb.GdbException;
import dev.vmsight.guests.gdb.X86Registers;
import dev.vmsight.ir.sys.CpuFeatures;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Starting a training program in a lab guest and stopping it at its START mark, shared by the
 * lockstep oracle and the tracer: spawn through qemu-ga, a hardware breakpoint at {@code main}
 * that accepts only our argv (static binaries all run code at the same addresses), then the
 * breakpoint at {@code vmsight_mark_in} filtered by that process's CR3.
 */
public final class GuestTrainer {
    /** RAM file offsets equal guest-physical addresses only below the PCI hole (pc machine: 3 GiB). */
    private static final long IDENTITY_MAPPED_LIMIT = 3L << 30;

    private GuestTrainer() { }

    /**
     * Starts {@code shellCommand} with /bin/sh -c after a one-second sleep (time to stop the
     * guest and set the breakpoint before the program starts). Returns the shell's guest PID.
     */
    public static long spawn(QemuGuest guest, String shellCommand) {
        return guest.spawn(List.of("/bin/sh", "-c", "sleep 1; " + shellCommand));
    }

    /**
     * Continues the guest until the process whose argv equals {@code argv} reaches {@code main},
     * then until it reaches {@code markIn} (START); leaves no breakpoint behind. Returns the
     * registers at START.
     */
    public static X86Registers stopAtStart(GdbClient gdb, long main, long markIn, List<String> argv, Duration timeout) {
        X86Registers atMain = gdb.continueToBreakpoint(main, r -> argvMatches(gdb, r, argv), timeout).registers();
        gdb.removeHardwareBreakpoint(main);
        X86Registers start = gdb.continueToBreakpoint(markIn, atMain.cr3(), timeout).registers();
        gdb.removeHardwareBreakpoint(markIn);
        return start;
    }

    /** The guest's own answer for the CPU features that change how bytes decode (qemu64 has no BMI1). */
    public static CpuFeatures cpuFeatures(QemuGuest guest) {
        Set<String> flags = Set.of(guest.exec(Duration.ofSeconds(20), List.of("/bin/sh", "-c", "grep -m1 '^flags' /proc/cpuinfo"))
                .stdoutOrThrow("reading the guest's /proc/cpuinfo").replaceFirst("^flags\\s*:", "").trim().split("\\s+"));
        return new CpuFeatures(flags.contains("bmi1"), flags.contains("abm"));
    }

    /** The size of the guest's RAM file, refused above 3 GiB (not identity-mapped there). */
    public static long ramSize(QemuGuest guest) {
        Path file = guest.ramFile();
        try {
            long size = Files.size(file);
            if (size > IDENTITY_MAPPED_LIMIT) {
                throw new IllegalArgumentException("guest RAM file " + file + " holds " + (size >> 20)
                        + " MiB: above 3 GiB the pc machine splits RAM around the PCI hole, which lockstep does not map; "
                        + "boot the guest with less memory");
            }
            return size;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the size of the guest RAM file " + file, e);
        }
    }

    /** Waits for the command spawned as {@code pid} to exit, at most {@code timeout}. */
    public static ExecResult awaitExit(QemuGuest guest, long pid, String what, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            Optional<ExecResult> r = guest.poll(pid);
            if (r.isPresent()) {
                return r.get();
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for " + what, e);
            }
        }
        throw new IllegalStateException(what + " (guest pid " + pid + ") did not finish within "
                + timeout.toSeconds() + " s after the debugger let it go");
    }

    /** Whether a stop at main is our process: argv (rdi = argc, rsi = argv) equals {@code expected}. */
    private static boolean argvMatches(GdbClient gdb, X86Registers r, List<String> expected) {
        if (r.rdi() != expected.size()) {
            return false;
        }
        try {
            for (int i = 0; i < expected.size(); i++) {
                long p = ByteBuffer.wrap(gdb.readMemory(r.rsi() + 8L * i, 8)).order(ByteOrder.LITTLE_ENDIAN).getLong();
                byte[] s = gdb.readMemory(p, expected.get(i).length() + 1);
                String got = new String(s, 0, s.length - 1, StandardCharsets.US_ASCII);
                if (!got.equals(expected.get(i)) || s[s.length - 1] != 0) {
                    return false;
                }
            }
            return true;
        } catch (GdbException unmapped) {
            return false;   // not a program's main (other code at the same address)
        }
    }
}
