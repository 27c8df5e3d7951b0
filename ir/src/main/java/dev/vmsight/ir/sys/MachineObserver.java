package dev.vmsight.ir.sys;

import dev.vmsight.ir.interp.CpuFault;
import dev.vmsight.ir.interp.MachineState;
import dev.vmsight.ir.interp.UopObserver;
import dev.vmsight.ir.uop.LiftedInstruction;

/**
 * Watches whole {@link SystemMachine#step()}s, in this order per step: {@link #fetched} (the
 * instruction, or null when its fetch faulted), the µop callbacks of {@link UopObserver} with the
 * {@link #access}es each µop makes in between, then, if an exception is delivered,
 * {@link #deliveryStarts} with the state before, the implicit accesses of the delivery (IDT, GDT,
 * TSS reads, the frame pushed; a delivery that faults and becomes #DF keeps reporting), and
 * {@link #delivered} with the state after. Page walks are not accesses: each access carries its
 * {@link Translation}. Instruction fetches are not reported.
 */
public interface MachineObserver extends UopObserver {
    /** Before the µops of the instruction at {@code rip} (run at {@code cpl}); {@code li} null if the fetch faulted. */
    void fetched(long rip, int cpl, LiftedInstruction li);

    void access(DataAccess access);

    /** An exception is about to be delivered through the IDT; {@code state} is as the instruction left it. */
    void deliveryStarts(CpuFault fault, MachineState state);

    /** The delivery finished: {@code state} is at the handler; {@code returnRip} is the RIP pushed. */
    void delivered(Step.Delivery delivery, long returnRip, MachineState state);
}
