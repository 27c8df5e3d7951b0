package dev.vmsight.merger;

import dev.vmsight.vmi.GuestMemoryException;
import dev.vmsight.vmi.paging.LinearMemory;
import org.junit.jupiter.api.Test;

import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * Relocation of a program to another boot's kernel layout: the code's fields as the kernel's
 * boot-time relocation leaves them (the encodings are those of the lab kernel 6.1.0-56 at a
 * real KASLR slide, 0x22800000), and every address by its region.
 */
class ProgramRelocationTest {
    private static final HexFormat HEX = HexFormat.of();
    private static final long TEXT = 0xffffffff81000000L;
    private static final long SLIDE = 0x22800000L;
    private static final long AT = 0xffffffff81234000L;

    /** Guest code at the slid address: {@code bytes} there, nothing mapped elsewhere. */
    private static LinearMemory guest(long va, String bytes) {
        Map<Long, byte[]> code = new TreeMap<>();
        code.put(va, HEX.parseHex(bytes));
        return new LinearMemory() {
            @Override public long read(long a, int size) { throw new UnsupportedOperationException(); }

            @Override public void read(long a, byte[] dst, int off, int len) {
                byte[] b = code.get(a);
                if (b == null || len > b.length) {
                    throw new GuestMemoryException(GuestMemoryException.Kind.NOT_PRESENT, a, -1, 1, "not in the test's code");
                }
                System.arraycopy(b, 0, dst, off, len);
            }

            @Override public void write(long a, int size, long value) { throw new UnsupportedOperationException(); }

            @Override public void write(long a, byte[] src, int off, int len) { throw new UnsupportedOperationException(); }
        };
    }

    private static final KernelLayout LIVE = new KernelLayout(TEXT + SLIDE, 0xffff8dc380000000L, 0xffffb00000000000L, 0xffffd30000000000L);

    private static String relocated(String trained, String live) {
        return HEX.formatHex(ProgramRelocation.code(HEX.parseHex(trained), AT, KernelLayout.NOKASLR, LIVE, guest(AT + SLIDE, live)));
    }

    @Test
    void absoluteImageReferencesMoveWithTheImage() {
        // mov $init_task,%rdi (imm32 sign-extended to 64 bits)
        assertEquals("48c7c740aaa1a4", relocated("48c7c740aa2182", "48c7c740aaa1a4"));
        // mov __per_cpu_offset(,%rax,8),%rax
        assertEquals("488b04c560cbc1a4", relocated("488b04c560cb4182", "488b04c560cbc1a4"));
        // movabs $0xffffffff82000000,%rax
        assertEquals("48b8000080a4ffffffff", relocated("48b800000082ffffffff", "48b8000080a4ffffffff"));
    }

    @Test
    void ripRelativePerCpuReferencesMoveTheOtherWay() {
        // mov %gs:current_task(%rip),%esi: the target is a per-CPU offset, which does not move
        assertEquals("658b3563927d5c", relocated("658b356392fd7e", "658b3563927d5c"));
    }

    /** 6.12's d_hash: movabs $dentry_hashtable,%rdx, patched into the code at boot (a direct-map pointer). */
    @Test
    void runtimeConstantPointersMoveWithTheirRegion() {
        assertEquals("48ba00cf988fc38dffff", relocated("48ba00cf980f8088ffff", "48ba00cf988fc38dffff"));
        // allocated elsewhere on the guest's boot: left for the code check
        assertEquals("48ba00cf980f8088ffff", relocated("48ba00cf980f8088ffff", "48ba00d0988fc38dffff"));
    }

    @Test
    void numbersThatLookLikeImageAddressesStayWhereTheGuestKeptThem() {
        // lea -0x44985179(%rdi),%ebx: a hash constant in the image window; the kernel left it
        assertEquals("8d9f85ae67bb", relocated("8d9f85ae67bb", "8d9f85ae67bb"));
        // add $__START_KERNEL_map,%rax: below _text, never a candidate
        assertEquals("480500000080", relocated("480500000080", "480500000080"));
        // mov $0x80000000,%eax: a 32-bit operand is a number
        assertEquals("b800000080", relocated("b800000080", "b800000080"));
        // a relative call needs nothing
        assertEquals("e8aabbccdd", relocated("e8aabbccdd", "e8aabbccdd"));
    }

    @Test
    void aFieldTheGuestHoldsOtherwiseIsLeftForTheCodeCheck() {
        // a hook rewrote the immediate: the program keeps the trained bytes; the code check reports the difference
        assertEquals("48c7c740aa2182", relocated("48c7c740aa2182", "48c7c700001234"));
        // unreadable guest code: unchanged
        assertEquals("48c7c740aa2182", HEX.formatHex(ProgramRelocation.code(HEX.parseHex("48c7c740aa2182"), AT, KernelLayout.NOKASLR,
                LIVE, guest(0, "00"))));
    }

    @Test
    void addressesMoveByTheirRegion() {
        KernelLayout trained = KernelLayout.NOKASLR;
        KernelLayout live = new KernelLayout(TEXT + SLIDE, 0xffff9a0000000000L, 0xffffb00000000000L, 0xffffd30000000000L);
        assertEquals(0xffffffffa3a34000L, trained.relocate(0xffffffff81234000L, live));
        assertEquals(0xffff9a0006150e88L, trained.relocate(0xffff888006150e88L, live));
        assertEquals(0xffffb00000123000L, trained.relocate(0xffffc90000123000L, live));
        assertEquals(0xffffd30000040000L, trained.relocate(0xffffea0000040000L, live));
        // user addresses, module space, the fixmap and plain numbers stay
        for (long v : new long[] {0x401000L, 0x7ffc12345678L, 0xffffffffc0563000L, 0xffffffffff600000L, -1L, -2L, 0x80000000L}) {
            assertEquals(v, trained.relocate(v, live), Long.toHexString(v));
        }
        // the guard hole (the run arena) is in no region
        assertEquals(MergedProgram.ARENA_BASE, trained.relocate(MergedProgram.ARENA_BASE, live));
    }

    @Test
    void aProgramMovesWholeAndItsRunContextWithIt() {
        RunContext ctx = new RunContext(0xffffffff8241cb60L, 0x1fbc0L, 0xffffffff8241aa40L, 0xffffffff82410000L,
                0xffffffff8241a010L, RunContext.Task.INIT_TASK, KernelLayout.NOKASLR,
                new RunContext.RegionSymbols(0xffffffff82415740L, 0xffffffff82415738L, 0xffffffff82415730L));
        MergedProgram.ProgramInstruction insn = new MergedProgram.ProgramInstruction(AT, HEX.parseHex("48c7c740aa2182"), 0, new int[] {0});
        MergedProgram p = new MergedProgram(MergedProgram.FORMAT_VERSION, "pslist", "sha", "6.1.0-56-amd64",
                new dev.vmsight.ir.sys.CpuFeatures(false, false), "data", 0x401000L, 0x401100L, List.of(insn),
                List.of(new MergedProgram.ControlSite(AT, MergedProgram.ControlKind.DIRECT, new long[] {0x401050L, AT + 7},
                        MergedProgram.ControlRole.FOLLOW)),
                List.of(new MergedProgram.LiveIn.Constant(3, 0xffffffff81c00080L), new MergedProgram.LiveIn.Constant(4, 42)),
                MergedProgram.ProgramInput.NONE, List.of(), new MergedProgram.OutputSpec(MergedProgram.OutputKind.INT32_LIST),
                new MergedProgram.Statistics(1, 1, 1, 1, 1, 1, 1, 0, 0, 1), List.of(), List.of(), List.of(), ctx);
        assertSame(p, ProgramRelocation.relocate(p, KernelLayout.NOKASLR, null), "nothing moves: the same program");

        KernelLayout live = new KernelLayout(TEXT + SLIDE, 0xffff9a0000000000L, 0xffffb00000000000L, 0xffffd30000000000L);
        MergedProgram q = ProgramRelocation.relocate(p, live, guest(AT + SLIDE, "48c7c740aaa1a4"));
        assertEquals(AT + SLIDE, q.instructions().get(0).address());
        assertEquals("48c7c740aaa1a4", HEX.formatHex(q.instructions().get(0).bytes()));
        assertEquals(0x401000L, q.entry());
        assertEquals(List.of(0x401050L, AT + SLIDE + 7), java.util.Arrays.stream(q.controls().get(0).successors()).boxed().toList()
                .stream().sorted(Long::compareUnsigned).toList());
        assertEquals(new MergedProgram.LiveIn.Constant(3, 0xffffffffa4400080L), q.liveIns().get(0));
        assertEquals(new MergedProgram.LiveIn.Constant(4, 42), q.liveIns().get(1));
        RunContext moved = q.runContext();
        assertEquals(live, moved.layout());
        assertEquals(0xffffffffa4c1cb60L, moved.perCpuOffsets());
        assertEquals(0x1fbc0L, moved.currentTaskSlot(), "a per-CPU offset does not move");
        assertEquals(0xffffffffa4c15740L, moved.regionSymbols().pageOffsetBase());
        assertSame(q, ProgramRelocation.relocate(q, live, null), "moved once: already there");
    }
}
