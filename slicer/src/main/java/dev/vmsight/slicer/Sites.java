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
        if (n == instances.length) {
            instances = java.util.Arrays.copyOf(instances, n * 2);
            visited = java.util.Arrays.copyOf(visited, n * 2);
        }
        return n;
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
