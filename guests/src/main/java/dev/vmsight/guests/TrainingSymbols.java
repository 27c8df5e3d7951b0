package dev.vmsight.guests;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Addresses of the marks (and main) in the static, non-PIE training binaries, read from
 * .lab/training/symbols.tsv, which guests/build-image.sh writes with nm. Lines are
 * {@code program<TAB>symbol<TAB>0xaddress}.
 */
public final class TrainingSymbols {

    public static final String MARK_IN = "vmsight_mark_in";
    public static final String MARK_OUT = "vmsight_mark_out";
    public static final String MAIN = "main";

    private final Path file;
    private final Map<TrainingProgram, Map<String, Long>> symbols;

    private TrainingSymbols(Path file, Map<TrainingProgram, Map<String, Long>> symbols) {
        this.file = file;
        this.symbols = symbols;
    }

    public static TrainingSymbols load(Path tsv) {
        List<String> lines;
        try {
            lines = Files.readAllLines(tsv);
        } catch (IOException e) {
            throw new GuestException("cannot read the training programs' symbols " + tsv
                    + " (run guests/build-image.sh): " + e.getMessage(), e);
        }
        Map<TrainingProgram, Map<String, Long>> table = new EnumMap<>(TrainingProgram.class);
        int lineNo = 0;
        for (String line : lines) {
            lineNo++;
            if (line.isBlank()) continue;
            String[] f = line.split("\t");
            if (f.length != 3 || !f[2].startsWith("0x")) {
                throw new GuestException(tsv + ":" + lineNo + ": expected program<TAB>symbol<TAB>0xaddress, got '" + line + "'");
            }
            TrainingProgram program;
            try {
                program = TrainingProgram.valueOf(f[0].toUpperCase(java.util.Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new GuestException(tsv + ":" + lineNo + ": unknown training program '" + f[0] + "'");
            }
            table.computeIfAbsent(program, p -> new HashMap<>()).put(f[1], Long.parseUnsignedLong(f[2].substring(2), 16));
        }
        return new TrainingSymbols(tsv, table);
    }

    /** The address of {@code symbol} in {@code program}. */
    public long address(TrainingProgram program, String symbol) {
        Long a = symbols.getOrDefault(program, Map.of()).get(symbol);
        if (a == null) throw new GuestException("no symbol " + symbol + " for " + program.fileName() + " in " + file);
        return a;
    }
}
