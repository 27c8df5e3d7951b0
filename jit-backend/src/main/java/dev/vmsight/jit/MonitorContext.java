package dev.vmsight.jit;

import dev.vmsight.ir.interp.Environment;
import dev.vmsight.ir.interp.SystemLayer;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.vmi.Budget;

/**
 * What one run gets.
 *
 * @param initialState one value per ir {@link Loc} (live-ins: constants and VcpuState values); not modified
 * @param memory       linear pages (embedded user half, guest RAM through paging)
 * @param env          values of environment µops (rdtsc, cpuid, rdmsr of unknown MSRs...)
 * @param system       executes system µops (syscall, sysret, iret...) as ir's SystemMachine does
 * @param budget       steps (back edges and transfers between generated methods) and time; restarted by each run
 */
public record MonitorContext(long[] initialState, PageSource memory, Environment env, SystemLayer system, Budget budget) {
    public MonitorContext {
        if (initialState.length != Loc.COUNT) {
            throw new IllegalArgumentException("initial state has " + initialState.length + " slots, ir Loc has " + Loc.COUNT);
        }
    }

    /** A context without environment or system layer: such µops fail with a clear error. */
    public static MonitorContext of(long[] initialState, PageSource memory, Budget budget) {
        return new MonitorContext(initialState, memory, Environment.NONE, SystemLayer.USER_MODE, budget);
    }
}
