package dev.vmsight.ir.verify.decoder;

import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The outcome of comparing the decoder with objdump over one code section.
 *
 * @param total          objdump instructions compared, per class (objdump's "(bad)" lines excluded)
 * @param decoded        of those, how many the decoder decoded (with or without a mismatch)
 * @param mismatchCount  decoded instructions whose length or mnemonic differs from objdump's
 *                       (and "(bad)" bytes the decoder accepted)
 * @param mismatches     the first mismatches, described
 * @param refused        mnemonics the decoder refused, most frequent first, with counts
 * @param objdumpBad     "(bad)" lines of objdump (the decoder must refuse them too)
 * @param mergedPrefixes objdump lines that were only a prefix (e.g. a superseded rex.W) and were
 *                       merged into the next instruction, as the CPU does
 * @param decodeNanos    time spent inside the decoder
 * @param operandMismatchCount instructions with objdump's length and mnemonic whose operands,
 *                       printed the objdump way, differ from objdump's
 * @param operandMismatches the first of those, described
 * @param operandMismatchesByName mnemonics with operand mismatches, most frequent first
 * @param knownDivergences disagreements explained by a documented objdump-versus-CPU difference
 *                       (not counted as mismatches), by kind
 */
public record DecoderReport(Map<InstructionClass, Long> total, Map<InstructionClass, Long> decoded, long mismatchCount,
                            List<String> mismatches, List<Map.Entry<String, Long>> refused, long objdumpBad,
                            long mergedPrefixes, long decodeNanos, long operandMismatchCount,
                            List<String> operandMismatches, List<Map.Entry<String, Long>> operandMismatchesByName,
                            Map<String, Long> knownDivergences) {

    public DecoderReport {
        total = new EnumMap<>(total);
        decoded = new EnumMap<>(decoded);
        mismatches = List.copyOf(mismatches);
        refused = List.copyOf(refused);
        operandMismatches = List.copyOf(operandMismatches);
        operandMismatchesByName = List.copyOf(operandMismatchesByName);
        knownDivergences = Map.copyOf(knownDivergences);
    }

    public long totalInstructions() { return total.values().stream().mapToLong(Long::longValue).sum(); }

    public long decodedInstructions() { return decoded.values().stream().mapToLong(Long::longValue).sum(); }

    /** Percentage of class {@code c} decoded (100 when the class is empty). */
    public double percentDecoded(InstructionClass c) {
        long t = total.getOrDefault(c, 0L);
        return t == 0 ? 100.0 : 100.0 * decoded.getOrDefault(c, 0L) / t;
    }

    public double instructionsPerSecond() {
        return decodeNanos == 0 ? 0 : decodedInstructions() * 1e9 / decodeNanos;
    }

    /** e.g. {@code decoder: 6,612,345 instructions, 99.97% decoded (GP integer 100.00%, ...), 0 mismatches}. */
    public String summaryLine() {
        long t = totalInstructions();
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "decoder: %,d instructions, %.2f%% decoded (",
                t, t == 0 ? 100.0 : 100.0 * decodedInstructions() / t));
        String sep = "";
        for (InstructionClass c : InstructionClass.values()) {
            sb.append(sep).append(String.format(Locale.ROOT, "%s %.2f%% of %,d", c.label(), percentDecoded(c),
                    total.getOrDefault(c, 0L)));
            sep = ", ";
        }
        return sb.append(String.format(Locale.ROOT, "), %,d mismatches, %,d operand mismatches", mismatchCount,
                operandMismatchCount)).toString();
    }

    /** Details: mismatches, refused mnemonics, resynchronisation counts and speed. */
    public String details() {
        StringBuilder sb = new StringBuilder();
        for (String m : mismatches) {
            sb.append("mismatch ").append(m).append('\n');
        }
        if (mismatchCount > mismatches.size()) {
            sb.append("... ").append(mismatchCount - mismatches.size()).append(" more mismatches\n");
        }
        for (String m : operandMismatches) {
            sb.append("operand mismatch ").append(m).append('\n');
        }
        if (operandMismatchCount > 0) {
            sb.append("operand mismatches by mnemonic:");
            operandMismatchesByName.stream().limit(20).forEach(e -> sb.append(' ').append(e.getKey()).append('=').append(e.getValue()));
            sb.append('\n');
        }
        if (!knownDivergences.isEmpty()) {
            sb.append("known objdump-vs-CPU divergences (decoder follows the CPU, see KnownDivergence): ")
                    .append(new java.util.TreeMap<>(knownDivergences)).append('\n');
        }
        sb.append("top refused:");
        refused.stream().limit(20).forEach(e -> sb.append(' ').append(e.getKey()).append('=').append(e.getValue()));
        sb.append(String.format(Locale.ROOT, "%nobjdump (bad) lines: %,d (decoder refuses them too; objdump resumes at the next byte "
                + "and so does the comparison); prefix-only lines merged into the next instruction: %,d%n", objdumpBad, mergedPrefixes));
        sb.append(String.format(Locale.ROOT, "decode speed: %,.0f instructions/s (%,d decoded in %.2f s of decoder time)",
                instructionsPerSecond(), decodedInstructions(), decodeNanos / 1e9));
        return sb.toString();
    }
}
