package dev.vmsight.slicer;

import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.uop.Uop;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;

/**
 * The static half of the closure: a program may run a new combination of trained edges, and on
 * it a kept µop may read a register whose writer on that path was never the traced last writer
 * (so the dynamic slice did not keep it, and the run would read a stale value). Register and
 * flag liveness over the merged site graph finds them: a µop that writes a location live after
 * its instruction is kept. Calls are what the program does with them: a structured call passes
 * the registers its frame restores around the callee (they are needed before the call) and needs
 * the callee's caller-saved inputs (arguments), unless the program skips it (its callee keeps
 * nothing: a retpoline thunk's target register, say, is no argument then). It stays within
 * functions: what a caller needs from a callee's return (rax) is not pushed into the callee,
 * which every caller shares — doing so kept, for example, `__get_user_8`'s load for every
 * caller, and a live run then read address 0 for the idle task's rseq.
 */
final class StaticLiveness {
    /** rax..r15 and the arithmetic flags (bits are Loc indices; RIP excluded). */
    private static final long TRACKED = 0xFFFFL | 0x7FL << Loc.CF;
    /** System V caller-saved registers: a callee may change them. */
    private static final long CLOBBERED = bit(0) | bit(1) | bit(2) | bit(6) | bit(7) | bit(8) | bit(9) | bit(10) | bit(11);

    private StaticLiveness() { }

    private static long bit(int loc) { return 1L << loc; }

    /**
     * Keeps (in {@code table.kept}) every µop that writes a tracked location which some kept µop
     * may read along the merged graph; returns whether a µop was added. {@code edges} are the
     * traces' (from &lt;&lt; 32 | to) site edges, {@code lastSites} each trace's last site (live there:
     * rdi and rsi, the answer).
     */
    static boolean close(Sites table, long[] edges, int[] lastSites, CallStructure structure,
                         BitSet summarisedCalls, boolean[] callHasKept) {
        int n = table.size();
        List<List<Integer>> succ = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            succ.add(new ArrayList<>());
        }
        for (long e : edges) {
            int from = (int) (e >>> 32), to = (int) e;
            if (!succ.get(from).contains(to)) {
                succ.get(from).add(to);
            }
        }
        long[] use = new long[n], def = new long[n], restored = new long[n];
        for (int s = 0; s < n; s++) {
            BitSet kept = table.kept.get(s);
            List<Uop> uops = table.lifted.get(s).uops();
            for (int k = 0; k < uops.size(); k++) {
                for (int o : uops.get(k).out()) {
                    def[s] |= o < 64 ? bit(o) & TRACKED : 0;
                }
                if (kept.get(k)) {
                    int[] ins = uops.get(k).in();
                    // a MERGE's first input is the register it partly overwrites: which of its
                    // bytes matter is a byte-level question the dynamic pass answers; not followed here
                    for (int j = uops.get(k).kind() == dev.vmsight.ir.uop.UopKind.MERGE ? 1 : 0; j < ins.length; j++) {
                        use[s] |= ins[j] < 64 ? bit(ins[j]) & TRACKED : 0;
                    }
                }
            }
            if (structure.structuredCall(s)) {
                for (int loc : structure.preservedLocs(s)) {
                    restored[s] |= bit(loc);
                }
            }
        }
        long[] liveIn = new long[n], liveOut = new long[n];
        for (int last : lastSites) {
            if (last >= 0) {
                liveOut[last] |= bit(6) | bit(7);
            }
        }
        boolean changed = true;
        while (changed) {
            changed = false;
            for (int s = n - 1; s >= 0; s--) {
                long out = liveOut[s];
                if (summarisedCalls.get(s)) {       // not entered: rax is the summary's, the rest passes
                    for (int t : table.at(table.keys.get(s).address() + table.keys.get(s).bytes().length)) {
                        out |= liveIn[t];
                    }
                    long in = out & ~bit(0);
                    if (out != liveOut[s] || in != liveIn[s]) {
                        liveOut[s] = out;
                        liveIn[s] = in;
                        changed = true;
                    }
                    continue;
                }
                boolean call = structure.structuredCall(s);
                if (!structure.structuredReturn(s)) {
                    for (int t : call ? table.at(structure.returnAddress(s)) : succ.get(s)) {
                        out |= liveIn[t];
                    }
                }
                long in;
                if (call) {
                    long callee = 0;
                    boolean skipped = BackwardPass.skippable(table, callHasKept, s);
                    for (int entry : skipped ? List.<Integer>of() : succ.get(s)) {
                        callee |= liveIn[entry] & CLOBBERED;   // its arguments, unless the program skips the call
                    }
                    in = use[s] | (out & restored[s]) | callee & ~def[s];
                } else {
                    in = use[s] | out & ~def[s];
                }
                if (out != liveOut[s] || in != liveIn[s]) {
                    liveOut[s] = out;
                    liveIn[s] = in;
                    changed = true;
                }
            }
        }
        boolean added = false;
        for (int s = 0; s < n; s++) {
            long needed = structure.structuredCall(s) || summarisedCalls.get(s) ? 0 : liveOut[s] & def[s];
            if (needed == 0) {
                continue;
            }
            BitSet kept = table.kept.get(s);
            List<Uop> uops = table.lifted.get(s).uops();
            for (int k = 0; k < uops.size(); k++) {
                for (int o : uops.get(k).out()) {
                    if (o < 64 && (needed & bit(o)) != 0 && !kept.get(k)) {
                        kept.set(k);
                        added = true;
                    }
                }
            }
        }
        return added;
    }
}
