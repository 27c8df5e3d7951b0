package dev.vmsight.benchmarks;

import dev.vmsight.ir.interp.Environment;
import dev.vmsight.ir.interp.FaultHandler;
import dev.vmsight.ir.interp.Interpreter;
import dev.vmsight.ir.interp.MachineState;
import dev.vmsight.ir.interp.Memory;
import dev.vmsight.ir.interp.PagedMemory;
import dev.vmsight.ir.interp.SystemLayer;
import dev.vmsight.ir.sys.CpuFeatures;
import dev.vmsight.ir.sys.SystemMachine;
import dev.vmsight.ir.uop.LiftedInstruction;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.jit.GuestPages;
import dev.vmsight.jit.JitProgram;
import dev.vmsight.vmi.paging.AddressSpace;
import dev.vmsight.vmi.paging.PagingMode;
import dev.vmsight.vmi.phys.PhysicalMemory;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A pslist-shaped workload until merged pslist programs exist: a raw physical image with 4-level
 * page tables (direct map at 0xffff888000000000, 2 MiB pages), a circular task list whose
 * task_structs are 0x2600 bytes apart (Linux 6.1's size, so every task is on its own pages), and
 * the x86-64 walk that copies each PID into a user-half buffer (lifted by SystemMachine.lift).
 * The same fixture is tested in jit-backend's TaskListTest against its ground truth.
 */
final class SyntheticTaskList {
    static final long DIRECT_MAP = 0xFFFF_8880_0000_0000L;
    static final long CODE = 0xFFFF_FFFF_8100_0000L;
    static final long HEAD_PA = 0x80000, TASKS_PA = 0x100000, TASK_SIZE = 0x2600, LIST = 0x4e8, PID = LIST - 8;
    static final long OUT = 0x7FFF_0000L;
    static final int IMAGE = 4 << 20;
    static final long END = CODE + 0x1b;
    /** mov rax,rdi; xor ecx,ecx; L: mov rax,[rax]; cmp rax,rdi; je D; mov edx,[rax-8]; mov [rsi+rcx*4],edx; inc rcx; jmp L; D: mov rax,rcx */
    static final byte[][] CODE_BYTES = {
            {0x48, (byte) 0x89, (byte) 0xf8}, {0x31, (byte) 0xc9},
            {0x48, (byte) 0x8b, 0x00}, {0x48, 0x39, (byte) 0xf8}, {0x74, 0x0b},
            {(byte) 0x8b, 0x50, (byte) 0xf8}, {(byte) 0x89, 0x14, (byte) 0x8e},
            {0x48, (byte) 0xff, (byte) 0xc1}, {(byte) 0xeb, (byte) 0xed}, {0x48, (byte) 0x89, (byte) 0xc8}};

    static byte[] image(int tasks) {
        byte[] image = new byte[IMAGE];
        ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(0x1000 + 8 * (int) ((DIRECT_MAP >>> 39) & 511), 0x2000 | 3);
        b.putLong(0x2000, 0x3000 | 3);
        b.putLong(0x3000, 0x83);
        b.putLong(0x3000 + 8, 0x200000 | 0x83);
        long prev = HEAD_PA;
        for (int i = 0; i < tasks; i++) {
            long t = TASKS_PA + i * TASK_SIZE;
            b.putInt((int) (t + PID), 100 + i);
            b.putLong((int) prev, DIRECT_MAP + t + LIST);
            prev = t + LIST;
        }
        b.putLong((int) prev, DIRECT_MAP + HEAD_PA);
        return image;
    }

    static JitProgram program() {
        List<JitProgram.Instruction> list = new ArrayList<>();
        long a = CODE;
        for (byte[] bytes : CODE_BYTES) {
            LiftedInstruction li = SystemMachine.lift(bytes, a, CpuFeatures.ALL);
            long next = a + bytes.length;
            JitProgram.Control c = switch ((int) (a - CODE)) {
                case 0xb -> new JitProgram.Control.Evaluated(List.of(CODE + 0xd, CODE + 0x18), JitProgram.OnUnseen.THROW);
                case 0x16 -> new JitProgram.Control.Evaluated(List.of(CODE + 5), JitProgram.OnUnseen.THROW);
                default -> new JitProgram.Control.Fixed(next);
            };
            list.add(JitProgram.Instruction.all(li, c));
            a = next;
        }
        return new JitProgram(CODE, END, list);
    }

    static long[] state() {
        long[] s = new long[Loc.COUNT];
        s[7] = DIRECT_MAP + HEAD_PA;
        s[6] = OUT;
        s[Loc.CR3] = 0x1000;
        s[Loc.SEL0 + 1] = 0x10;
        return s;
    }

    static GuestPages pages(PhysicalMemory ram) {
        return new GuestPages(AddressSpace.of(ram, 0x1000, PagingMode.fourLevel()), Map.of(OUT, new byte[4096]));
    }

    /**
     * The reference path: the ir Interpreter over the same memory composition (kernel half through
     * a fresh AddressSpace per run, user half embedded, stores into a private copy): the core of
     * the merger's reference executor.
     */
    static final class Reference {
        private final PhysicalMemory ram;
        private final Map<Long, LiftedInstruction> code = new HashMap<>();

        Reference(PhysicalMemory ram) {
            this.ram = ram;
            for (JitProgram.Instruction i : program().instructions()) {
                code.put(i.address(), i.lifted());
            }
        }

        /** Runs once; returns the number of PIDs. */
        long run() {
            AddressSpace space = AddressSpace.of(ram, 0x1000, PagingMode.fourLevel());
            PagedMemory user = new PagedMemory().map(OUT, 4096);
            Memory mem = new Memory() {
                @Override
                public long read(long va, int size) {
                    return Long.compareUnsigned(va, GuestPages.USER_END) >= 0 ? space.read(va, size) : user.read(va, size);
                }

                @Override
                public void write(long va, int size, long value) { user.write(va, size, value); }
            };
            Interpreter in = new Interpreter(mem, code::get, Environment.NONE, SystemLayer.USER_MODE, FaultHandler.RETHROW);
            MachineState ms = new MachineState();
            long[] s = state();
            for (int l = 0; l < Loc.COUNT; l++) {
                ms.set(l, s[l]);
            }
            ms.setRip(CODE);
            in.run(ms, END, 10_000_000);
            if (ms.rip() != END) {
                throw new IllegalStateException("reference run did not reach the end: rip 0x" + Long.toHexString(ms.rip()));
            }
            return ms.gpr(0);
        }
    }
}
