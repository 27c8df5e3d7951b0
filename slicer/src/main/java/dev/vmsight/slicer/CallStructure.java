package dev.vmsight.slicer;

import dev.vmsight.ir.uop.Loc;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Which calls and returns are structured, over all traces: a call (direct, indirect or
 * {@code syscall}) whose every instance was ended by a return (ret or {@code sysretq}) to the
 * call's next instruction, with the stack pointer and the callee-saved registers as they were
 * before the call; a return site whose every instance ended such a call. A program then keeps a
 * return stack instead of computing return addresses: at a structured call it pushes a frame
 * (the return address and the preserved registers' values), at a structured return it pops it
 * and continues at the return address with those registers restored. So neither the return
 * address on the guest stack nor the callee's save/restore of registers and the stack pointer is
 * a data dependence of the caller, and control dependence can treat a call as one statement.
 *
 * <p>Every condition is checked on every traced instance; one instance that breaks it (a context
 * switch, a frame left open at END) makes the sites involved unstructured, which are then sliced
 * as before. A retpoline thunk's own call and return (the return goes to the branch target the
 * thunk wrote over its return slot) are such a pair: they are sliced as one indirect jump, while
 * the call of the thunk and the target's return still match each other.
 */
final class CallStructure {
    /** The System V callee-saved registers plus rsp: what a structured return restores, when preserved. */
    static final int[] CALLEE_SAVED = {Loc.GPR0 + 3, Loc.GPR0 + 4, Loc.GPR0 + 5, Loc.GPR0 + 12, Loc.GPR0 + 13,
            Loc.GPR0 + 14, Loc.GPR0 + 15};
    static final int RSP_BIT = 1;   // index of rsp in CALLEE_SAVED

    private final BitSet callSeen = new BitSet();
    private final BitSet callBroken = new BitSet();
    private final BitSet retSeen = new BitSet();
    private final BitSet retBroken = new BitSet();
    /** call site → AND of the preserved-register masks of its instances (bit i: CALLEE_SAVED[i]) */
    private final Map<Integer, Integer> preserved = new HashMap<>();
    /** call site → return address (the call's next instruction) */
    private final Map<Integer, Long> returnAddress = new HashMap<>();
    /** matched (call site, return site) pairs */
    private final List<long[]> pairs = new ArrayList<>();

    private BitSet structuredCalls;
    private BitSet structuredReturns;

    void call(int site, long returnAddr) {
        callSeen.set(site);
        returnAddress.put(site, returnAddr);
    }

    void ret(int site) { retSeen.set(site); }

    void matched(int callSite, int retSite, int preservedMask) {
        preserved.merge(callSite, preservedMask, (a, b) -> a & b);
        if (pairSeen.add(((long) callSite << 32) | retSite)) {
            pairs.add(new long[]{callSite, retSite});
        }
    }

    private final java.util.Set<Long> pairSeen = new java.util.HashSet<>();

    void brokenCall(int site) { callBroken.set(site); }

    void brokenReturn(int site) { retBroken.set(site); }

    /** Decides the structured sites; call once, after every trace was indexed. */
    void finish() {
        BitSet calls = (BitSet) callSeen.clone();
        calls.andNot(callBroken);
        for (var e : preserved.entrySet()) {
            if ((e.getValue() & (1 << RSP_BIT)) == 0) {
                calls.clear(e.getKey());    // the stack pointer must come back as it was
            }
        }
        BitSet rets = (BitSet) retSeen.clone();
        rets.andNot(retBroken);
        boolean changed = true;
        while (changed) {           // a call is structured only if all its returns are, and back
            changed = false;
            for (long[] p : pairs) {
                int c = (int) p[0], r = (int) p[1];
                if (calls.get(c) != rets.get(r)) {
                    calls.clear(c);
                    rets.clear(r);
                    changed = true;
                }
            }
        }
        structuredCalls = calls;
        structuredReturns = rets;
    }

    boolean structuredCall(int site) { return structuredCalls.get(site); }

    boolean structuredReturn(int site) { return structuredReturns.get(site); }

    /** The call's next instruction. */
    long returnAddress(int callSite) { return returnAddress.get(callSite); }

    /** The registers ({@link Loc} indices) a structured return from {@code callSite}'s callee restores. */
    int[] preservedLocs(int callSite) {
        int mask = preserved.getOrDefault(callSite, 0);
        return java.util.stream.IntStream.range(0, CALLEE_SAVED.length).filter(i -> (mask >>> i & 1) != 0)
                .map(i -> CALLEE_SAVED[i]).toArray();
    }

    int structuredCallCount() { return structuredCalls.cardinality(); }

    int structuredReturnCount() { return structuredReturns.cardinality(); }
}
