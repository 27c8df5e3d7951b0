package dev.vmsight.jit;

import dev.vmsight.merger.MergedProgram;

/**
 * Where a run's {@code ALLOCATE} call summaries hand out memory (merger's
 * {@link MergedProgram#ARENA_BASE}, slots of {@link MergedProgram#ARENA_SLOT} bytes): the i-th
 * allocation of a run is {@code BASE + i * SLOT}. The range is in the guard hole of the
 * 4-level kernel map, which no layout (KASLR's included) maps, so its bytes never come from the guest: they exist once the run stores them
 * (in {@link MonitorMemory}'s overlay) and reading one never stored is a memory fault of the run.
 */
final class Arena {
    static final long BASE = MergedProgram.ARENA_BASE;
    static final long SLOT = MergedProgram.ARENA_SLOT;
    /** The hole's size: 2^40 bytes. */
    static final long SIZE = 1L << 40;
    /** Allocations one run may make before the arena is exhausted. */
    static final long SLOTS = SIZE / SLOT;
    private static final long FIRST_PAGE = BASE >>> 12;
    private static final long PAGES = SIZE >>> 12;

    private Arena() { }

    /** Whether linear page {@code vpn} lies in the arena. */
    static boolean holdsPage(long vpn) {
        return Long.compareUnsigned(vpn - FIRST_PAGE, PAGES) < 0;
    }

    /** Whether any of the {@code size} bytes at {@code va} lies in the arena. */
    static boolean touches(long va, int size) {
        return holdsPage(va >>> 12) || holdsPage((va + size - 1) >>> 12);
    }

    /** The address of allocation {@code i} (from 0) of a run. */
    static long slot(long i) {
        return BASE + i * SLOT;
    }
}
