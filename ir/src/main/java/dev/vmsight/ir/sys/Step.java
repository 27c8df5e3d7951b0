package dev.vmsight.ir.sys;

import dev.vmsight.ir.uop.LiftedInstruction;

import java.util.List;

/**
 * What one {@link SystemMachine#step()} did: the instruction at {@code address} (null when its
 * fetch faulted) and the exceptions delivered through the IDT, in order (a #PF then a #DF when
 * delivery itself faulted). {@code instruction.uops()} are the µops that ran.
 */
public record Step(long address, LiftedInstruction instruction, List<Delivery> deliveries) {
    public Step {
        deliveries = List.copyOf(deliveries);
    }

    /**
     * One exception or interrupt delivered: vector, the error code pushed (-1 for none), the
     * handler it went to and why it was raised.
     */
    public record Delivery(int vector, long errorCode, long handler, String cause) { }

    public boolean faulted() { return !deliveries.isEmpty(); }

    /** One line per instruction and µop, then the deliveries: for divergence reports. */
    public String describe() {
        StringBuilder s = new StringBuilder("0x").append(Long.toHexString(address)).append(": ");
        s.append(instruction == null ? "(fetch faulted)" : instruction.instruction().toString()).append('\n');
        if (instruction != null) {
            instruction.uops().forEach(u -> s.append("    ").append(u).append('\n'));
        }
        for (Delivery d : deliveries) {
            s.append("  delivered vector ").append(d.vector());
            if (d.errorCode() >= 0) {
                s.append(" error 0x").append(Long.toHexString(d.errorCode()));
            }
            s.append(" to 0x").append(Long.toHexString(d.handler())).append(": ").append(d.cause()).append('\n');
        }
        return s.toString();
    }
}
