package dev.vmsight.ir.verify.decoder;

import dev.vmsight.ir.decode.DecodeException;
import dev.vmsight.ir.decode.Decoder;
import dev.vmsight.ir.decode.Instruction;
import dev.vmsight.ir.decode.Mnemonic;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The objdump oracle: disassembles a code section with {@code objdump -d -M intel}, decodes at
 * every address objdump names, and checks that each decoded instruction has objdump's length and
 * mnemonic. Because every objdump address is decoded independently, the comparison
 * resynchronises wherever objdump does (after its "(bad)" lines, at the next byte).
 */
public final class DecoderOracle {

    private static final int MAX_LISTED_MISMATCHES = 50;
    private static final Duration OBJDUMP_TIMEOUT = Duration.ofMinutes(10);

    private final Map<InstructionClass, Long> total = new EnumMap<>(InstructionClass.class);
    private final Map<InstructionClass, Long> decoded = new EnumMap<>(InstructionClass.class);
    private final Map<String, Long> refused = new HashMap<>();
    private final List<String> mismatches = new ArrayList<>();
    private long mismatchCount;
    private final List<String> operandMismatches = new ArrayList<>();
    private final Map<String, Long> operandMismatchByName = new HashMap<>();
    private long operandMismatchCount;
    private final Map<KnownDivergence, Long> divergences = new EnumMap<>(KnownDivergence.class);
    private long objdumpBad;
    private long mergedPrefixes;
    private long decodeNanos;
    private final ElfSection section;

    private DecoderOracle(ElfSection section) {
        this.section = section;
    }

    /** Compares the decoder with objdump over section {@code sectionName} of ELF file {@code elf}. */
    public static DecoderReport run(Path elf, String sectionName) {
        if (!Files.isRegularFile(elf)) {
            throw new IllegalArgumentException("ELF file " + elf + " does not exist");
        }
        DecoderOracle oracle = new DecoderOracle(ElfSection.read(elf, sectionName));
        oracle.compareWithObjdump(elf, sectionName);
        return oracle.report();
    }

    /** Compares against an objdump listing already at hand (tests feed hand-made listings here). */
    static DecoderReport compareListing(ElfSection section, BufferedReader listing) throws IOException {
        DecoderOracle oracle = new DecoderOracle(section);
        oracle.parse(listing);
        return oracle.report();
    }

    private void compareWithObjdump(Path elf, String sectionName) {
        ProcessBuilder pb = new ProcessBuilder("objdump", "-d", "-M", "intel", "--no-show-raw-insn", "-j", sectionName,
                elf.toString());
        Path errFile;
        Process p;
        try {
            errFile = Files.createTempFile("vmsight-objdump", ".err");
            pb.redirectError(errFile.toFile());
            p = pb.start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot run objdump (install binutils): " + e.getMessage(), e);
        }
        Thread watchdog = new Thread(() -> {
            try {
                if (!p.waitFor(OBJDUMP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
            }
        }, "objdump-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
        try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.US_ASCII), 1 << 20)) {
            parse(in);
            int rc = p.waitFor();
            if (rc != 0) {
                throw new IllegalStateException("objdump failed on " + elf + " (exit " + rc + "): "
                        + Files.readString(errFile).strip());
            }
        } catch (IOException e) {
            throw new IllegalStateException("reading objdump output for " + elf + " failed: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for objdump");
        } finally {
            p.destroy();
            try {
                Files.deleteIfExists(errFile);
            } catch (IOException ignored) {
                // a leftover temp file is harmless
            }
        }
    }

    /** Streams objdump's lines; an instruction's length is the distance to the next one. */
    private void parse(BufferedReader in) throws IOException {
        long pendingAddr = -1;
        ObjdumpNames.Parsed pending = null;
        String line;
        while ((line = in.readLine()) != null) {
            int colon = line.indexOf(":\t");
            if (colon < 0) {
                continue;                   // headers, blank lines, symbol labels
            }
            long addr;
            try {
                addr = Long.parseUnsignedLong(line.substring(0, colon).strip(), 16);
            } catch (NumberFormatException e) {
                continue;
            }
            ObjdumpNames.Parsed parsed = ObjdumpNames.parse(line.substring(colon + 2));
            if (pending != null) {
                if (pending.prefixOnly()) {
                    // objdump prints a prefix the CPU folds into the next instruction on its own line
                    mergedPrefixes++;
                    pending = parsed;
                    continue;
                }
                compare(pendingAddr, addr, pending);
            }
            pendingAddr = addr;
            pending = parsed;
        }
        if (pending != null) {
            compare(pendingAddr, section.end(), pending);
        }
    }

    private void compare(long addr, long next, ObjdumpNames.Parsed objdump) {
        int offset = (int) (addr - section.address());
        int length = (int) (next - addr);
        if (offset < 0 || length <= 0 || offset + length > section.bytes().length) {
            throw new IllegalStateException(String.format("objdump names address 0x%x outside section [0x%x, 0x%x)",
                    addr, section.address(), section.end()));
        }
        if (objdump.invalid()) {
            objdumpBad++;
            try {
                Instruction insn = decodeTimed(offset, addr);
                mismatch(addr, offset, length, "decoded " + ObjdumpNames.nameOf(insn) + " (" + insn.length()
                        + " bytes) where objdump says " + objdump.name() + " " + objdump.operands(), insn);
            } catch (DecodeException expected) {
                // agreement: neither decodes it
            }
            return;
        }
        InstructionClass cls = ObjdumpNames.classify(objdump, opcodeByte(offset));
        total.merge(cls, 1L, Long::sum);
        Instruction insn;
        try {
            insn = decodeTimed(offset, addr);
        } catch (DecodeException e) {
            refused.merge(objdump.name(), 1L, Long::sum);
            return;
        }
        decoded.merge(cls, 1L, Long::sum);
        String ours = ObjdumpNames.nameOf(insn);
        int ourLength = insn.length();
        String waitForm = ObjdumpNames.WAIT_FORMS.get(objdump.name());
        if (waitForm != null && ours.equals("fwait") && ourLength == 1) {
            // objdump prints fwait (one or more) + fnXXX as one fXXX; the CPU runs them as separate instructions
            try {
                Instruction after = decodeTimed(offset + ourLength, addr + ourLength);
                while (after.mnemonic() == Mnemonic.FWAIT && ourLength < length) {
                    ourLength += after.length();
                    after = decodeTimed(offset + ourLength, addr + ourLength);
                }
                ours = ObjdumpNames.nameOf(after).equals(waitForm) ? objdump.name() : "fwait+" + ObjdumpNames.nameOf(after);
                ourLength += after.length();
            } catch (DecodeException e) {
                ours = "fwait+refused";
            }
        }
        if (ourLength != length || !ours.equals(objdump.name())) {
            mismatch(addr, offset, length, String.format("ours %s (%d bytes) vs objdump %s %s (%d bytes)", ours,
                    ourLength, objdump.name(), objdump.operands(), length), insn);
        } else if (waitForm == null) {
            compareOperands(addr, offset, length, insn, objdump);
        }
    }

    private void compareOperands(long addr, int offset, int length, Instruction insn, ObjdumpNames.Parsed objdump) {
        List<String> theirs = ObjdumpOperands.normaliseObjdump(objdump.operands());
        List<String> ours = ObjdumpOperands.format(insn);
        if (!ObjdumpOperands.matches(theirs, insn, ours)) {
            KnownDivergence known = KnownDivergence.of(section.bytes(), offset, insn);
            if (known != null) {
                divergences.merge(known, 1L, Long::sum);
                return;
            }
            operandMismatchCount++;
            operandMismatchByName.merge(objdump.name(), 1L, Long::sum);
            if (operandMismatches.size() < MAX_LISTED_MISMATCHES) {
                byte[] b = section.bytes();
                operandMismatches.add(String.format("0x%x [%s]: %s: ours %s vs objdump %s", addr,
                        HexFormat.ofDelimiter(" ").formatHex(b, offset, offset + length), objdump.name(),
                        String.join(",", ours), String.join(",", theirs)));
            }
        }
    }

    private Instruction decodeTimed(int offset, long addr) {
        long t0 = System.nanoTime();
        try {
            return Decoder.decode(section.bytes(), offset, addr);
        } finally {
            decodeNanos += System.nanoTime() - t0;
        }
    }

    private void mismatch(long addr, int offset, int length, String what) {
        mismatch(addr, offset, length, what, null);
    }

    private void mismatch(long addr, int offset, int length, String what, Instruction ours) {
        KnownDivergence known = KnownDivergence.of(section.bytes(), offset, ours);
        if (known != null) {
            divergences.merge(known, 1L, Long::sum);
            return;
        }
        mismatchCount++;
        if (mismatches.size() < MAX_LISTED_MISMATCHES) {
            byte[] b = section.bytes();
            int n = Math.min(Math.max(length, 1) + 4, Math.min(15, b.length - offset));
            mismatches.add(String.format("0x%x [%s]: %s", addr, HexFormat.ofDelimiter(" ").formatHex(b, offset, offset + n), what));
        }
    }

    /** The first byte after legacy and REX prefixes (to tell VEX and x87 encodings apart). */
    private int opcodeByte(int offset) {
        byte[] b = section.bytes();
        for (int i = offset; i < b.length && i < offset + 15; i++) {
            int v = b[i] & 0xFF;
            boolean prefix = switch (v) {
                case 0xF0, 0xF2, 0xF3, 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65, 0x66, 0x67 -> true;
                default -> (v & 0xF0) == 0x40;
            };
            if (!prefix) {
                return v;
            }
        }
        return -1;
    }

    private Map<String, Long> divergenceCounts() {
        Map<String, Long> out = new java.util.LinkedHashMap<>();
        divergences.forEach((k, v) -> out.put(k.name(), v));
        return out;
    }

    private DecoderReport report() {
        List<Map.Entry<String, Long>> top = refused.entrySet().stream()
                .sorted(Map.Entry.<String, Long>comparingByValue(Comparator.reverseOrder()).thenComparing(Map.Entry.comparingByKey()))
                .map(e -> Map.entry(e.getKey(), e.getValue()))
                .toList();
        List<Map.Entry<String, Long>> operandTop = operandMismatchByName.entrySet().stream()
                .sorted(Map.Entry.<String, Long>comparingByValue(Comparator.reverseOrder()).thenComparing(Map.Entry.comparingByKey()))
                .map(e -> Map.entry(e.getKey(), e.getValue()))
                .toList();
        return new DecoderReport(total, decoded, mismatchCount, mismatches, top, objdumpBad, mergedPrefixes, decodeNanos,
                operandMismatchCount, operandMismatches, operandTop, divergenceCounts());
    }
}
