package dev.vmsight.merger;

import dev.vmsight.ir.interp.CpuFault;
import dev.vmsight.ir.interp.Interpreter;
import dev.vmsight.ir.interp.MachineState;
import dev.vmsight.ir.interp.Memory;
import dev.vmsight.ir.interp.UopObserver;
import dev.vmsight.ir.sys.CpuFeatures;
import dev.vmsight.ir.sys.SystemMachine;
import dev.vmsight.ir.uop.LiftedInstruction;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.uop.Uop;
import dev.vmsight.ir.uop.UopKind;
import dev.vmsight.tracer.trace.InMemoryTrace;
import dev.vmsight.tracer.trace.InstructionEvent;
import dev.vmsight.tracer.trace.MemoryAccess;
import dev.vmsight.tracer.trace.TraceHeader;
import dev.vmsight.tracer.trace.TraceSummary;
import dev.vmsight.tracer.trace.UopExecution;
import dev.vmsight.vmi.paging.AddressSpace;
import dev.vmsight.vmi.paging.PagingMode;
import dev.vmsight.vmi.phys.MemoryMap;
import dev.vmsight.vmi.phys.PhysicalMemory;
import dev.vmsight.vmi.phys.PhysicalMemoryException;
import dev.vmsight.vmi.vcpu.VcpuState;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A tiny "guest" for merger tests: kernel-half memory behind real 4-level page tables in a byte
 * array (a linked list of {next, pid} nodes whose head pointer is at {@link #HEAD}), and a
 * user-mode walker (assembled with GNU as from the source below) that copies the PIDs into the
 * output buffer at 0x600000, writing -1 for a PID above 0x8000. The walker is traced by running it
 * on the real ir interpreter with an observer (every µop's inputs, outputs and accesses); its
 * answer there is the oracle a merged program must reproduce.
 *
 * <pre>
 * 400000: mov rbx, [0x601000]      ; &amp;head (user data, embedded by the merger)
 * 400008: mov rbx, [rbx]           ; first node (kernel half)
 * 40000b: mov edi, 0x600000
 * 400010: xor ecx, ecx
 * 400012: test rbx, rbx            ; loop
 * 400015: jz 400039
 * 400017: mov eax, [rbx+8]
 * 40001a: cmp eax, 0x8000
 * 40001f: ja 40002b                ; "strange" pid
 * 400021: mov [rdi+rcx*4], eax
 * 400024: inc ecx
 * 400026: mov rbx, [rbx]
 * 400029: jmp 400012
 * 40002b: mov dword [rdi+rcx*4], -1
 * 400032: inc ecx
 * 400034: mov rbx, [rbx]
 * 400037: jmp 400012
 * 400039: mov esi, ecx
 * 40003b: shl esi, 2
 * 40003e: nop                      ; END: rdi = buffer, rsi = length
 * </pre>
 */
final class ListGuest {
    static final long CODE = 0x400000, END = 0x40003e, OUT = 0x600000, USER_DATA = 0x601000;
    static final long KERNEL = 0xffff888000000000L;
    static final long HEAD = KERNEL;
    static final long CR3 = 0x1000;
    static final byte[] WALKER = bytes(0x48, 0x8b, 0x1c, 0x25, 0x00, 0x10, 0x60, 0x00, 0x48, 0x8b, 0x1b, 0xbf, 0x00,
            0x00, 0x60, 0x00, 0x31, 0xc9, 0x48, 0x85, 0xdb, 0x74, 0x22, 0x8b, 0x43, 0x08, 0x3d, 0x00, 0x80, 0x00, 0x00,
            0x77, 0x0a, 0x89, 0x04, 0x8f, 0xff, 0xc1, 0x48, 0x8b, 0x1b, 0xeb, 0xe7, 0xc7, 0x04, 0x8f, 0xff, 0xff, 0xff,
            0xff, 0xff, 0xc1, 0x48, 0x8b, 0x1b, 0xeb, 0xd9, 0x89, 0xce, 0xc1, 0xe6, 0x02, 0x90);
    /** kernel pages mapped at KERNEL, KERNEL + 4K, ... → physical 0x10000, 0x11000, ... */
    static final int KERNEL_PAGES = 16;
    static final long KERNEL_PHYS = 0x10000;

    final byte[] ram = new byte[0x10000 + KERNEL_PAGES * 4096];
    final PhysicalMemory physical = new PhysicalMemory() {
        @Override public void read(long pa, byte[] dst, int off, int len) {
            if (pa < 0 || pa + len > ram.length) {
                throw new PhysicalMemoryException(describe(), pa, len, "outside the test RAM");
            }
            System.arraycopy(ram, (int) pa, dst, off, len);
        }

        @Override public MemoryMap map() { return MemoryMap.identity(ram.length); }

        @Override public int idealBatchSize() { return 4096; }

        @Override public String describe() { return "list guest RAM"; }

        @Override public void close() { }
    };

    ListGuest() {
        // PML4[273] → PDPT at 0x2000, PDPT[0] → PD at 0x3000, PD[0] → PT at 0x4000, PT[i] → 0x10000 + i*4K
        put(CR3 + 8L * PagingMode.index(KERNEL, 4), 0x2000 | 3);
        put(0x2000 + 8L * PagingMode.index(KERNEL, 3), 0x3000 | 3);
        put(0x3000 + 8L * PagingMode.index(KERNEL, 2), 0x4000 | 3);
        for (int i = 0; i < KERNEL_PAGES; i++) {
            put(0x4000 + 8L * i, (KERNEL_PHYS + 4096L * i) | 3);
        }
    }

    /** A list of nodes with these PIDs, 32 bytes apart after the head pointer; the last points at {@code lastNext} (0 ends it). */
    static ListGuest withPids(long lastNext, int... pids) {
        ListGuest g = new ListGuest();
        long node = KERNEL + 64;
        g.putKernel(HEAD, pids.length == 0 ? 0 : node);
        for (int i = 0; i < pids.length; i++) {
            long next = i + 1 < pids.length ? node + 32 : lastNext;
            g.putKernel(node, next);
            g.putKernel(node + 8, pids[i]);
            node += 32;
        }
        return g;
    }

    static ListGuest withPids(int... pids) { return withPids(0, pids); }

    void putKernel(long va, long value) { put(KERNEL_PHYS + (va - KERNEL), value); }

    void put(long pa, long value) {
        ByteBuffer.wrap(ram).order(ByteOrder.LITTLE_ENDIAN).putLong((int) pa, value);
    }

    VcpuState vcpu() {
        return new VcpuState("list guest", Map.of("cr3", CR3, "cr4", 0x20L, "rip", CODE, "rsp", 0x7ff000L));
    }

    /** The walker's own answer: the PIDs it wrote (the oracle). */
    record Traced(InMemoryTrace trace, byte[] answer) { }

    /** Runs the walker on the ir interpreter, recording every µop, START..END. */
    Traced trace() {
        AddressSpace kernel = AddressSpace.of(physical, CR3, PagingMode.fourLevel());
        Map<Long, Byte> user = new HashMap<>();
        for (int i = 0; i < WALKER.length; i++) {
            user.put(CODE + i, WALKER[i]);
        }
        for (int i = 0; i < 8; i++) {
            user.put(USER_DATA + i, (byte) (HEAD >>> (8 * i)));
        }
        Memory memory = new Memory() {
            @Override public long read(long va, int size) {
                if (va < 0) {
                    return kernel.read(va, size);
                }
                long v = 0;
                for (int i = 0; i < size; i++) {
                    v |= (user.getOrDefault(va + i, (byte) 0) & 0xFFL) << (8 * i);
                }
                return v;
            }

            @Override public void write(long va, int size, long value) {
                if (va < 0) {
                    throw new IllegalStateException("the walker writes only user memory");
                }
                for (int i = 0; i < size; i++) {
                    user.put(va + i, (byte) (value >>> (8 * i)));
                }
            }
        };
        long[] arch = new long[Loc.ARCH_COUNT];
        arch[Loc.CR3] = CR3;
        arch[Loc.CR4] = 0x20;
        arch[Loc.RIP] = CODE;
        arch[Loc.SEL0 + 1] = 0x33;
        TraceHeader header = new TraceHeader("pslist", List.of(),
                new TraceHeader.GuestIdentity("feedface", "test", "none", 1, ram.length), CpuFeatures.ALL,
                new TraceHeader.Marks(CODE, CODE, END, CR3), TraceHeader.BufferSpec.none("in"),
                TraceHeader.BufferSpec.none("out"),
                new TraceHeader.StartState(arch, 0, 0, 0, 0, 0, 40), Map.of(), 0);
        List<InstructionEvent> events = new ArrayList<>();
        MachineState state = new MachineState();
        for (int i = 0; i < arch.length; i++) {
            state.set(i, arch[i]);
        }
        Recorder recorder = new Recorder(kernel);
        Interpreter interpreter = Interpreter.userMode(memory, a -> {
            throw new IllegalStateException("fetch at 0x" + Long.toHexString(a));
        });
        interpreter.observe(recorder);
        long step = 0;
        while (state.rip() != END) {
            if (++step > 100_000) {
                throw new IllegalStateException("the walker did not reach END");
            }
            long rip = state.rip();
            byte[] window = new byte[15];
            for (int i = 0; i < window.length; i++) {
                window[i] = user.getOrDefault(rip + i, (byte) 0x90);
            }
            LiftedInstruction li = SystemMachine.lift(window, rip, CpuFeatures.ALL);
            recorder.uops.clear();
            interpreter.execute(li, state);
            events.add(new InstructionEvent(step, rip, 3, li.instruction().bytes(), List.copyOf(recorder.uops)));
        }
        long len = state.gpr(6);
        byte[] answer = new byte[(int) len];
        for (int i = 0; i < answer.length; i++) {
            answer[i] = user.getOrDefault(state.gpr(7) + i, (byte) 0);
        }
        // the expected output as the tracer states it: user pages are identity-mapped in this guest
        TraceHeader.BufferSpec out = new TraceHeader.BufferSpec("out", state.gpr(7), answer.length,
                answer.length == 0 ? new long[0] : new long[]{state.gpr(7) & ~0xFFFL}, answer);
        InMemoryTrace trace = new InMemoryTrace(new TraceHeader(header.program(), header.args(), header.guest(),
                header.features(), header.marks(), header.input(), out, header.start(), header.context(), 0));
        events.forEach(trace::write);
        trace.finish(new TraceSummary(step, 0, 0, step, 0, 0, 0, 0, true, answer, true, 0));
        return new Traced(trace, answer);
    }

    private static final class Recorder implements UopObserver {
        final List<UopExecution> uops = new ArrayList<>();
        final AddressSpace kernel;
        long[] inputs;

        Recorder(AddressSpace kernel) { this.kernel = kernel; }

        @Override public void before(int index, Uop uop, MachineState state) {
            inputs = Arrays.stream(uop.in()).mapToLong(state::get).toArray();
        }

        @Override public void after(int index, Uop uop, MachineState state) {
            long[] outputs = Arrays.stream(uop.out()).mapToLong(state::get).toArray();
            MemoryAccess[] accesses = UopExecution.NO_ACCESSES;
            if (uop.kind() == UopKind.LOAD || uop.kind() == UopKind.STORE) {
                boolean store = uop.kind() == UopKind.STORE;
                long va = inputs[0];
                long pa = va < 0 ? kernel.physical(va) : va;
                accesses = new MemoryAccess[]{new MemoryAccess(va, pa, -1, uop.size(),
                        store ? inputs[1] & uop.mask() : outputs[0], store, -1)};
            }
            uops.add(new UopExecution(index, inputs, outputs, accesses, UopExecution.NO_LOCS, UopExecution.NO_VALUES, false));
        }

        @Override public void faulted(int index, Uop uop, CpuFault fault, MachineState state) {
            throw fault;
        }
    }

    static byte[] bytes(int... b) {
        byte[] out = new byte[b.length];
        for (int i = 0; i < b.length; i++) {
            out[i] = (byte) b[i];
        }
        return out;
    }

    static byte[] int32s(int... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : values) {
            b.putInt(v);
        }
        return b.array();
    }
}
