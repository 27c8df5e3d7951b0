package dev.vmsight.benchmarks;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The hand-written walker's PIDs over an ELF dump, as JSON ({@code {"pids": [...]}}), for
 * benchmarks/run to hold every peer tool's list against. Opening checks that the compiled monitor
 * and the reference executor answer the same PIDs ({@link LivePslist#open}). Argument: the dump;
 * the other inputs are LivePslist's properties.
 */
public final class DumpPslist {

    private DumpPslist() {}

    public static void main(String[] args) {
        if (args.length != 1) throw new IllegalArgumentException("usage: DumpPslist DUMP (and LivePslist's -D properties)");
        System.setProperty("vmsight.dump", args[0]);
        try (LivePslist live = LivePslist.open()) {
            long[] pids = live.handWritten();
            System.out.println("{\"pids\": [" + Arrays.stream(pids).mapToObj(Long::toString).collect(Collectors.joining(", ")) + "]}");
        }
    }
}
