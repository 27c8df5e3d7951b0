package dev.vmsight.ir.sys;

import dev.vmsight.ir.interp.CpuFault;
import dev.vmsight.ir.interp.Environment;
import dev.vmsight.ir.interp.MachineState;
import dev.vmsight.ir.uop.LiftedInstruction;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.uop.Uop;
import dev.vmsight.ir.uop.UopKind;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static dev.vmsight.ir.sys.PagingFormat.*;
import static dev.vmsight.ir.sys.SyntheticGuest.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Instruction fetch page by page (the next page is touched only when the instruction reaches it,
 * as the SDM's fetch does), the lifted-instruction cache (changed code is lifted again) and the
 * {@link MachineObserver} sequence of a step.
 */
class FetchAndObserverTest {
    private static final long HANDLER = kva(KERNEL_CODE + 0x800);
    private static final long NEXT = USER_CODE + 0x10000, NEXT_PA = 0x1030000;

    private final SyntheticGuest g = new SyntheticGuest(4);

    private SystemMachine machine(MachineState s) { return new SystemMachine(s, g.ram, Environment.NONE, g.tables()); }

    @Test
    void anInstructionEndingOnItsPageDoesNotTouchTheNextPage() {
        g.map(NEXT, NEXT_PA, 0x1000, US);
        g.load(USER_CODE_PA + 0xffff, 0x90);                        // nop, the last byte of the page
        MachineState s = g.state(3).setRip(NEXT - 1);
        machine(s).step();
        assertEquals(NEXT, s.rip());
        assertEquals(0, g.ram.read(g.entryAddress(NEXT, 1), 8) & A, "the next page's A bit stays clear");
    }

    @Test
    void anInstructionCrossingIntoTheNextPageFetchesIt() {
        g.map(NEXT, NEXT_PA, 0x1000, US);
        g.load(USER_CODE_PA + 0xfffd, 0xb8, 0x01, 0x02);           // mov eax, 0x04030201 across the boundary
        g.load(NEXT_PA, 0x03, 0x04);
        MachineState s = g.state(3).setRip(NEXT - 3);
        Step st = machine(s).step();
        assertFalse(st.faulted());
        assertEquals(0x04030201, s.gpr(0));
        assertEquals(NEXT + 2, s.rip());
        assertEquals(A, g.ram.read(g.entryAddress(NEXT, 1), 8) & A);
    }

    @Test
    void anInstructionCrossingIntoAMissingPageIsAFetchPageFault() {
        g.gate(14, HANDLER, 0, 0xE, 0);
        g.load(USER_CODE_PA + 0xfffd, 0xb8, 0x01, 0x02);           // the rest of the mov is on an unmapped page
        MachineState s = g.state(3).setRip(NEXT - 3);
        Step st = machine(s).step();
        assertNull(st.instruction());
        assertEquals(14, st.deliveries().get(0).vector());
        assertEquals(NEXT, s.get(Loc.CR2), "CR2 is the first byte that could not be fetched");
        assertEquals(PageFault.U | PageFault.ID, st.deliveries().get(0).errorCode(), "user fetch, not present (NXE on)");
    }

    @Test
    void codeWrittenInPlaceIsLiftedAgain() {
        g.load(USER_CODE_PA, 0xb8, 0x01, 0x00, 0x00, 0x00);         // mov eax, 1
        MachineState s = g.state(3).setRip(USER_CODE);
        SystemMachine m = machine(s);
        m.step();
        assertEquals(1, s.gpr(0));
        g.load(USER_CODE_PA, 0xb8, 0x02, 0x00, 0x00, 0x00);         // now mov eax, 2 at the same address
        s.setRip(USER_CODE);
        m.step();
        assertEquals(2, s.gpr(0));
        g.load(USER_CODE_PA, 0x48, 0xff, 0xc0);                     // now inc rax: other length, other instruction
        s.setRip(USER_CODE);
        m.step();
        assertEquals(3, s.gpr(0));
        assertEquals(USER_CODE + 3, s.rip());
    }

    @Test
    void theObserverSeesEachMicroOpTheFaultAndTheDelivery() {
        g.gate(14, HANDLER, 0, 0xE, 0);
        g.load(USER_CODE_PA, 0x48, 0x89, 0x04, 0x25, 0x00, 0x00, 0x60, 0x00,   // mov [0x600000], rax
                0x48, 0x8b, 0x1c, 0x25, 0x00, 0x00, 0x00, 0x01);               // mov rbx, [0x1000000]: unmapped
        MachineState s = g.state(3).setRip(USER_CODE).setGpr(0, 0xabcd);
        SystemMachine m = machine(s);
        List<String> seen = new ArrayList<>();
        List<DataAccess> accesses = new ArrayList<>();
        m.watch(new MachineObserver() {
            @Override public void fetched(long rip, int cpl, LiftedInstruction li) {
                seen.add("fetch " + Long.toHexString(rip) + " cpl " + cpl + " " + li.uops().size());
            }
            @Override public void before(int index, Uop uop, MachineState state) { seen.add("before " + index); }
            @Override public void after(int index, Uop uop, MachineState state) { seen.add("after " + index); }
            @Override public void faulted(int index, Uop uop, CpuFault fault, MachineState state) {
                seen.add("faulted " + index + " " + uop.kind() + " vector " + fault.vector());
            }
            @Override public void access(DataAccess a) {
                seen.add("access");
                accesses.add(a);
            }
            @Override public void deliveryStarts(CpuFault fault, MachineState state) { seen.add("deliver " + fault.vector()); }
            @Override public void delivered(Step.Delivery d, long returnRip, MachineState state) {
                seen.add("delivered " + d.vector() + " to " + Long.toHexString(state.rip()) + " return " + Long.toHexString(returnRip));
            }
        });
        Step store = m.step();
        int n = store.instruction().uops().size();
        List<String> expected = new ArrayList<>(List.of("fetch 400000 cpl 3 " + n));
        for (int i = 0; i < n; i++) {
            expected.add("before " + i);
            if (store.instruction().uops().get(i).kind() == UopKind.STORE) {
                expected.add("access");
            }
            expected.add("after " + i);
        }
        assertEquals(expected, seen);
        DataAccess st = accesses.get(0);
        assertEquals(new DataAccess(USER_DATA, USER_DATA_PA, -1, 8, 0xabcd, true, st.translation()), st);
        Translation t = st.translation();
        assertEquals(USER_DATA, t.pageBase());
        assertEquals(0x1000, t.pageSize());
        assertEquals(USER_DATA_PA, t.frame());
        assertEquals(g.root, t.cr3());
        assertEquals(4, t.entryAddresses().length);
        assertEquals(g.entryAddress(USER_DATA, 1), t.entryAddresses()[3]);
        assertEquals(USER_DATA_PA | US | RW | P, t.entryValues()[3] & ~XD, "the leaf as read, before A and D");

        seen.clear();
        Step load = m.step();
        int last = load.instruction().uops().size() - 1;
        assertEquals("fetch 400008 cpl 3 " + (last + 1), seen.get(0));
        int faultAt = seen.indexOf(seen.stream().filter(x -> x.startsWith("faulted")).findFirst().orElseThrow());
        assertTrue(seen.get(faultAt).endsWith("LOAD vector 14"), seen.get(faultAt));
        assertEquals("before " + seen.get(faultAt).split(" ")[1], seen.get(faultAt - 1), "before, then faulted, no after");
        assertEquals("deliver 14", seen.get(faultAt + 1));
        assertEquals("delivered 14 to " + Long.toHexString(HANDLER) + " return 400008", seen.get(seen.size() - 1));
        // gate (2 reads), code descriptor, TSS RSP0, six frame words
        assertEquals(10, seen.subList(faultAt + 2, seen.size() - 1).stream().filter("access"::equals).count());
    }

    @Test
    void pagesThatShareATlbSlotEvictEachOtherAndStillTranslateCorrectly() {
        // USER_DATA and the kernel direct map of physical USER_DATA have the same low 12 page-number bits
        long alias = kva(USER_DATA);
        assertEquals(USER_DATA >>> 12 & 0xFFF, alias >>> 12 & 0xFFF);
        g.ram.write(USER_DATA_PA, 8, 0x1111);
        g.ram.write(USER_DATA, 8, 0x2222);   // physical USER_DATA, seen through the direct map
        MachineState s = g.state(0);
        SystemMachine m = machine(s);
        for (int i = 0; i < 3; i++) {
            assertEquals(0x1111, m.readVirtual(USER_DATA, 8));
            assertEquals(0x2222, m.readVirtual(alias, 8));
        }
        assertEquals(USER_DATA_PA, m.physicalAddress(USER_DATA));
        assertEquals(USER_DATA, m.physicalAddress(alias));
    }
}
