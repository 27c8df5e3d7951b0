/**
 * The system half of the x86-64 interpreter: long-mode paging, exception delivery and the
 * privileged instructions, so that kernel paths can be replayed instruction by instruction.
 *
 * <p>API:
 * <ul>
 *   <li>{@link dev.vmsight.ir.sys.PhysMem}: guest-physical memory ({@code read(pa, size)},
 *       {@code write(pa, size, v)}, {@code size()}); {@code PhysMem.of(byte[])} and
 *       {@code PhysMem.copyOnWrite(base)}, an overlay that never writes its base (the live
 *       guest's RAM file).</li>
 *   <li>{@link dev.vmsight.ir.sys.SystemMachine}: built from a
 *       {@link dev.vmsight.ir.interp.MachineState} (GPRs, RIP, RFLAGS, selectors, FS/GS/kernel-GS
 *       bases, CR0-CR4, CR8, EFER and the syscall MSRs), a {@code PhysMem}, an
 *       {@link dev.vmsight.ir.interp.Environment} (rdtsc, cpuid, unknown MSRs, port input) and
 *       {@link dev.vmsight.ir.sys.SystemTables} (GDTR, IDTR, TSS base). {@code step()} runs one
 *       instruction as a gdbstub single-step does and returns a {@link dev.vmsight.ir.sys.Step}:
 *       the lifted instruction (with its µops) and the exceptions delivered;
 *       {@code observe(AccessObserver)} reports each data access (va, pa, size, value);
 *       {@code watch(MachineObserver)} reports whole steps for recorders: the instruction, each µop
 *       before and after it runs (or that it faulted), each data access as a
 *       {@link dev.vmsight.ir.sys.DataAccess} naming its {@link dev.vmsight.ir.sys.Translation}
 *       (the walk its TLB entry came from: page, frame, CR3, entries read) and the second page's
 *       address when it crosses one, and exception deliveries with the state before and after
 *       (the accesses in between are the delivery's implicit ones).</li>
 *   <li>{@link dev.vmsight.ir.sys.PagingFormat}: the MMU as data (levels, leaf levels,
 *       MAXPHYADDR, the entry masks), 4- and 5-level.</li>
 * </ul>
 * Speed: {@code step()} keeps lifted instructions by address and reuses one when the bytes it
 * fetches now (through paging, page by page, touching the next page only when the instruction
 * reaches it) equal the cached instruction's; the {@code Tlb} is a direct-mapped array.
 * Inside: {@code Mmu} (one walker, permission checks, A/D bits, {@code Tlb}) implements the
 * interpreter's {@link dev.vmsight.ir.interp.Memory}; {@code SystemInstructions} implements its
 * {@link dev.vmsight.ir.interp.SystemLayer}; faults reach {@code SystemMachine} through the
 * interpreter's {@link dev.vmsight.ir.interp.FaultHandler} and are delivered through the IDT.
 */
package dev.vmsight.ir.sys;
