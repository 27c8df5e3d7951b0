package dev.vmsight.jit;

import dev.vmsight.ir.interp.Environment;
import dev.vmsight.ir.interp.FaultHandler;
import dev.vmsight.ir.interp.Interpreter;
import dev.vmsight.ir.interp.MachineState;
import dev.vmsight.ir.interp.Memory;
import dev.vmsight.ir.interp.PagedMemory;
import dev.vmsight.ir.interp.SystemLayer;
import dev.vmsight.ir.sys.CpuFeatures;
import dev.vmsight.ir.sys.SystemMachine;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.vmi.Budget;
import dev.vmsight.vmi.paging.AddressSpace;
import dev.vmsight.vmi.paging.PagingMode;
import dev.vmsight.vmi.phys.PhysicalMemories;
import dev.vmsight.vmi.phys.PhysicalMemory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A small synthetic guest for end-to-end tests: real page tables (direct map of the first 4 MiB
 * at 0xffff888000000000 with 2 MiB pages) in a raw physical image mapped read-only, a circular
 * doubly-linked task list like Linux's (list_head at +0x100, pid at +0xf8 = the list_head - 8),
 * and real x86-64 code that walks it and writes the PIDs into a user-half buffer, lifted by
 * SystemMachine.lift. The ground truth is the list the fixture built.
 */
final class TaskListGuest {
    static final long DIRECT_MAP = 0xFFFF_8880_0000_0000L;
    static final long CODE = 0xFFFF_FFFF_8100_0000L;
    static final long HEAD_PA = 0x80000, TASKS_PA = 0x100000, TASK_SIZE = 0x400, LIST = 0x100, PID = 0xF8;
    static final long OUT = 0x7FFF_0000L;
    static final int IMAGE = 4 << 20;

    /**
     * <pre>
     *  0: mov rax, rdi        3: xor ecx, ecx
     *  5: mov rax, [rax]      8: cmp rax, rdi       b: je 0x18
     *  d: mov edx, [rax-8]   10: mov [rsi+rcx*4], edx
     * 13: inc rcx            16: jmp 5             18: mov rax, rcx   (end 0x1b)
     * </pre>
     */
    static final byte[][] CODE_BYTES = {
            {0x48, (byte) 0x89, (byte) 0xf8}, {0x31, (byte) 0xc9},
            {0x48, (byte) 0x8b, 0x00}, {0x48, 0x39, (byte) 0xf8}, {0x74, 0x0b},
            {(byte) 0x8b, 0x50, (byte) 0xf8}, {(byte) 0x89, 0x14, (byte) 0x8e},
            {0x48, (byte) 0xff, (byte) 0xc1}, {(byte) 0xeb, (byte) 0xed}, {0x48, (byte) 0x89, (byte) 0xc8}};
    static final long END = CODE + 0x1b;

    final byte[] image = new byte[IMAGE];
    final List<Integer> pids = new ArrayList<>();

    TaskListGuest(int tasks, long seed) {
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        // PML4 at 0x1000 → PDPT at 0x2000 → PD at 0x3000 with two 2 MiB leaves
        b.putLong(0x1000 + 8 * (int) ((DIRECT_MAP >>> 39) & 511), 0x2000 | 3);
        b.putLong(0x2000, 0x3000 | 3);
        b.putLong(0x3000, 0x83);
        b.putLong(0x3000 + 8, 0x200000 | 0x83);
        java.util.Random rnd = new java.util.Random(seed);
        long prev = HEAD_PA;
        for (int i = 0; i < tasks; i++) {
            long t = TASKS_PA + i * TASK_SIZE;
            int pid = 1 + i * 3 + rnd.nextInt(3);
            pids.add(pid);
            b.putInt((int) (t + PID), pid);
            b.putLong((int) prev, DIRECT_MAP + t + LIST);            // prev->next
            b.putLong((int) (t + LIST + 8), DIRECT_MAP + prev);      // ->prev
            prev = t + LIST;
        }
        b.putLong((int) prev, DIRECT_MAP + HEAD_PA);
        b.putLong((int) (HEAD_PA + 8), DIRECT_MAP + prev);
    }

    long head() { return DIRECT_MAP + HEAD_PA; }

    long taskListHeadVa(int i) { return DIRECT_MAP + TASKS_PA + i * TASK_SIZE + LIST; }

    /** Physical offset of task i's next pointer (for corrupting it). */
    static int nextPointerPa(int i) { return (int) (TASKS_PA + i * TASK_SIZE + LIST); }

    /** The walk compiled as a JitProgram: all µops kept, the je evaluated, the rest fixed. */
    static JitProgram program(JitProgram.OnUnseen onUnseen) {
        List<JitProgram.Instruction> list = new ArrayList<>();
        long a = CODE;
        for (byte[] bytes : CODE_BYTES) {
            var li = SystemMachine.lift(bytes, a, CpuFeatures.ALL);
            long next = a + bytes.length;
            JitProgram.Control c = switch ((int) (a - CODE)) {
                case 0xb -> new JitProgram.Control.Evaluated(List.of(CODE + 0xd, CODE + 0x18), onUnseen);
                case 0x16 -> new JitProgram.Control.Evaluated(List.of(CODE + 5), onUnseen);
                default -> new JitProgram.Control.Fixed(next);
            };
            list.add(JitProgram.Instruction.all(li, c));
            a = next;
        }
        return new JitProgram(CODE, END, list);
    }

    /** Live-ins: rdi = head, rsi = output buffer, CR3, kernel CS. */
    long[] state() {
        long[] s = new long[Loc.COUNT];
        s[7] = head();
        s[6] = OUT;
        s[Loc.CR3] = 0x1000;
        s[Loc.SEL0 + 1] = 0x10;
        return s;
    }

    Path writeImage(Path dir) throws IOException {
        Path f = dir.resolve("guest-" + System.nanoTime() + ".raw");
        Files.write(f, image);
        return f;
    }

    static PageSource pages(PhysicalMemory ram) {
        AddressSpace space = AddressSpace.of(ram, 0x1000, PagingMode.fourLevel());
        return new GuestPages(space, Map.of(OUT, new byte[4096]));
    }

    static MonitorContext context(long[] state, PhysicalMemory ram, Budget budget) {
        return MonitorContext.of(state, pages(ram), budget);
    }

    /** The PIDs a completed run wrote (count in rax). */
    static List<Integer> output(MonitorResult.Completed r) {
        List<Integer> out = new ArrayList<>();
        long n = r.state()[0];
        for (int i = 0; i < n; i++) {
            out.add((int) r.memory().read(OUT + 4L * i, 4));
        }
        return out;
    }

    /** The interpreter over the same memory (kernel half through AddressSpace, user half embedded). */
    static List<Integer> interpret(long[] state, PhysicalMemory ram, long maxInstructions) {
        AddressSpace space = AddressSpace.of(ram, 0x1000, PagingMode.fourLevel());
        PagedMemory user = new PagedMemory().map(OUT, 4096);
        Memory mem = new Memory() {
            @Override
            public long read(long va, int size) {
                return Long.compareUnsigned(va, GuestPages.KERNEL_HALF) >= 0 ? space.read(va, size) : user.read(va, size);
            }

            @Override
            public void write(long va, int size, long value) { user.write(va, size, value); }
        };
        Map<Long, dev.vmsight.ir.uop.LiftedInstruction> code = new HashMap<>();
        for (JitProgram.Instruction i : program(JitProgram.OnUnseen.THROW).instructions()) {
            code.put(i.address(), i.lifted());
        }
        Interpreter in = new Interpreter(mem, code::get, Environment.NONE, SystemLayer.USER_MODE, FaultHandler.RETHROW);
        MachineState ms = new MachineState();
        for (int l = 0; l < Loc.COUNT; l++) {
            ms.set(l, state[l]);
        }
        ms.setRip(CODE);
        in.run(ms, END, maxInstructions);
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < ms.gpr(0); i++) {
            out.add((int) user.read(OUT + 4L * i, 4));
        }
        return out;
    }

    static Budget budget() { return Budget.of(1_000_000, java.time.Duration.ofSeconds(2)); }
}
