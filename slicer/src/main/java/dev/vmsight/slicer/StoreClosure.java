package dev.vmsight.slicer;

import dev.vmsight.tracer.capture.KernelSymbols;
import dev.vmsight.tracer.trace.InstructionEvent;
import dev.vmsight.tracer.trace.MemoryAccess;
import dev.vmsight.tracer.trace.TraceEvent;
import dev.vmsight.tracer.trace.TraceReader;
import dev.vmsight.tracer.trace.UopExecution;

import java.util.Iterator;
import java.util.List;

/**
 * Keeps the program's copy-on-write view of kernel memory consistent with the kernel's: a store
 * that comes after a kept store to the same byte is kept too. The dynamic slice keeps a store
 * when a later kept µop read it in training; a store nobody read in training (a lock's release:
 * no other acquisition of that lock followed) is dropped, yet a run that meets the same lock again
 * (two new dentries in one hash bucket, which training's few processes never produced) would then
 * find it held by itself, and refuse, or read a stale value. Byte-granular over physical memory,
 * one forward pass per trace per round; the kernel stack (frames are written before they are
 * read) and the user half (embedded) are left out.
 */
final class StoreClosure {
    private StoreClosure() { }

    /** One round over every trace; returns whether a µop became kept. */
    static boolean close(List<? extends TraceReader> traces, List<TraceIndex> indexes, Sites table) {
        boolean changed = false;
        for (int i = 0; i < traces.size(); i++) {
            changed |= close(traces.get(i), indexes.get(i), table);
        }
        return changed;
    }

    private static boolean close(TraceReader trace, TraceIndex index, Sites table) {
        LiveBytes written = new LiveBytes();
        long stackTop = 0;
        String slot = trace.header().context().get(KernelSymbols.KEY + "cpu_current_top_of_stack");
        long[] start = trace.header().start().architectural();
        long perCpu = start[(start[dev.vmsight.ir.uop.Loc.SEL0 + 1] & 3) == 3 ? dev.vmsight.ir.uop.Loc.KERNEL_GS_BASE
                : dev.vmsight.ir.uop.Loc.GS_BASE];
        long topSlot = slot == null ? 0 : perCpu + Long.parseUnsignedLong(slot, 16);
        boolean changed = false;
        Iterator<TraceEvent> it = trace.forward();
        int ordinal = -1;
        int instruction = 0;
        while (it.hasNext()) {
            TraceEvent e = it.next();
            ordinal++;
            if (!(e instanceof InstructionEvent ins)) {
                continue;
            }
            int site = index.sites[instruction++];
            if (site < 0 || index.dropped.get(ordinal) || index.summarised.get(ordinal)) {
                continue;
            }
            for (UopExecution x : ins.uops()) {
                for (MemoryAccess a : x.accesses()) {
                    if (!a.write()) {
                        if (stackTop == 0 && a.size() == 8 && a.va() == topSlot) {
                            stackTop = a.value();
                        }
                        continue;
                    }
                    if (TraceIndex.userHalf(a.va()) || stackTop != 0 && Long.compareUnsigned(stackTop - 1 - a.va(),
                            ContextTaint.KERNEL_STACK) < 0) {
                        continue;
                    }
                    boolean kept = table.kept.get(site).get(x.index());
                    for (int b = 0; b < a.size(); b++) {
                        long pa = a.byteAddress(b);
                        if (kept) {
                            written.add(pa);
                        } else if (written.contains(pa)) {
                            table.kept.get(site).set(x.index());
                            changed = true;
                            kept = true;
                            for (int c = 0; c < a.size(); c++) {
                                written.add(a.byteAddress(c));
                            }
                            break;
                        }
                    }
                }
            }
        }
        return changed;
    }
}
