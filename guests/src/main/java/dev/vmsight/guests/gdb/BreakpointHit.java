package dev.vmsight.guests.gdb;

/**
 * The guest stopped at a breakpoint in the wanted address space.
 *
 * @param registers   the vCPU's registers at the stop (rip is the breakpoint address)
 * @param skippedHits how many hits in other address spaces (other CR3s) were stepped over first
 */
public record BreakpointHit(X86Registers registers, int skippedHits) {}
