package dev.vmsight.slicer;

import dev.vmsight.ir.sys.CpuFeatures;
import dev.vmsight.ir.sys.SystemMachine;
import dev.vmsight.ir.uop.LiftedInstruction;
import dev.vmsight.ir.uop.Uop;
import dev.vmsight.ir.uop.UopKind;
import dev.vmsight.slicer.SliceResult.ControlKind;
import dev.vmsight.slicer.SliceResult.InstructionKey;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The instruction sites of all traces, numbered densely: each (rip, bytes) lifted once with the
 * traces' CPU features, its kept µops (the closure: one set for every instance), instance count,
 * control kind and observed successors.
 */
final class Sites {
    private final CpuFeatures features;
    private final Map<InstructionKey, Integer> ids = new HashMap<>();
    final List<InstructionKey> keys = new ArrayList<>();
    final List<LiftedInstruction> lifted = new ArrayList<>();
    final List<BitSet> kept = new ArrayList<>();
    final List<ControlKind> control = new ArrayList<>();
    final List<TreeSet<Long>> successors = new ArrayList<>();
    /**
     * per site, the µops that copy a register only to xor/sub it with another copy of itself
     * (the zeroing idiom: the result is 0 whatever the register holds), else null
     */
    final Map<Integer, BitSet> zeroingCopies = new HashMap<>();
    long[] instances = new long[64];
    /** the closure round in which an instance of the site was last walked (0: none) */
    int[] visited = new int[64];
    private final Map<Long, List<Integer>> byAddress = new HashMap<>();

    Sites(CpuFeatures features) { this.features = features; }

    int size() { return keys.size(); }

    int id(long rip, byte[] bytes) {
        InstructionKey key = new InstructionKey(rip, bytes);
        Integer id = ids.get(key);
        if (id != null) {
            return id;
        }
        LiftedInstruction li;
        try {
            li = SystemMachine.lift(bytes, rip, features);
        } catch (RuntimeException e) {
            throw new SliceException("cannot lift the traced instruction at 0x" + Long.toHexString(rip) + ": "
                    + e.getMessage(), e);
        }
        int n = keys.size();
        ids.put(key, n);
        keys.add(key);
        lifted.add(li);
        kept.add(new BitSet());
        control.add(controlKind(li));
        successors.add(new TreeSet<>());
        byAddress.computeIfAbsent(rip, a -> new ArrayList<>()).add(n);
        BitSet copies = zeroingCopies(li);
        if (copies != null) {
            zeroingCopies.put(n, copies);
        }
        if (n == instances.length) {
            instances = java.util.Arrays.copyOf(instances, n * 2);
            visited = java.util.Arrays.copyOf(visited, n * 2);
        }
        return n;
    }

    /**
     * {@code xor r, r} / {@code sub r, r} at 8/16/32 bits: the lifter reads r once per operand (a
     * zero-extending copy each) and combines the two copies, so neither copy needs r. The µops
     * of those copies, or null. (A 64-bit {@code xor r, r} combines r with itself directly:
     * {@link ByteUses#selfCancelling}.)
     */
    static BitSet zeroingCopies(LiftedInstruction li) {
        Map<Integer, Integer> copyAt = new HashMap<>();     // temp → index of the µop copying into it
        List<Uop> us = li.uops();
        BitSet out = null;
        for (int i = 0; i < us.size(); i++) {
            Uop u = us.get(i);
            if ((u.kind() == UopKind.ZEXT || u.kind() == UopKind.MOV) && u.in().length == 1 && u.out().length == 1
                    && u.out()[0] >= dev.vmsight.ir.uop.Loc.TEMP0 && u.in()[0] < dev.vmsight.ir.uop.Loc.ARCH_COUNT) {
                copyAt.put(u.out()[0], i);
            } else if ((u.kind() == UopKind.XOR || u.kind() == UopKind.SUB) && u.in().length == 2) {
                Integer a = copyAt.get(u.in()[0]), b = copyAt.get(u.in()[1]);
                if (a != null && b != null && !a.equals(b) && us.get(a).in()[0] == us.get(b).in()[0]
                        && us.get(a).kind() == us.get(b).kind() && us.get(a).size() == us.get(b).size()) {
                    out = out == null ? new BitSet() : out;
                    out.set(a);
                    out.set(b);
                }
            }
        }
        return out;
    }

    /** Sites at {@code address} (several when the bytes there changed). */
    List<Integer> at(long address) { return byAddress.getOrDefault(address, List.of()); }

    Uop uop(int site, int index) { return lifted.get(site).uops().get(index); }

    private static ControlKind controlKind(LiftedInstruction li) {
        ControlKind k = null;
        for (Uop u : li.uops()) {
            ControlKind c = switch (u.kind()) {
                case BRANCH -> ControlKind.CONDITIONAL;
                case EXIT_IF -> ControlKind.EXIT_IF;
                case JUMP_IND -> ControlKind.INDIRECT_JUMP;
                case CALL_IND -> ControlKind.INDIRECT_CALL;
                case RET -> ControlKind.RET;
                case SYSCALL, SYSRET, IRET -> ControlKind.SYSTEM_TRANSFER;
                default -> null;
            };
            if (c != null && (k == null || k == ControlKind.EXIT_IF)) {
                k = c;
            }
        }
        return k;
    }

    /** The static targets of a conditional branch's BRANCH µop, or none. */
    long[] staticTargets(int site) {
        for (Uop u : lifted.get(site).uops()) {
            if (u.kind() == UopKind.BRANCH) {
                return new long[]{u.imm()[0], u.imm()[1]};
            }
        }
        return new long[0];
    }
}
