package dev.vmsight.ir.sys;

import dev.vmsight.ir.decode.DecodeException;
import dev.vmsight.ir.decode.Decoder;
import dev.vmsight.ir.decode.Instruction;
import dev.vmsight.ir.decode.Mnemonic;
import dev.vmsight.ir.interp.CpuFault;
import dev.vmsight.ir.interp.Environment;
import dev.vmsight.ir.interp.Interpreter;
import dev.vmsight.ir.interp.MachineState;
import dev.vmsight.ir.lift.LiftException;
import dev.vmsight.ir.lift.Lifter;
import dev.vmsight.ir.uop.LiftedInstruction;
import dev.vmsight.ir.uop.Loc;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * An x86-64 CPU in long mode over guest-physical memory: the user-mode {@link Interpreter} plus
 * paging, exception delivery and the privileged instructions. {@link #step()} executes exactly
 * one instruction as QEMU's gdbstub single-step does (an exception raised by it is delivered, so
 * RIP is then the handler's first instruction). The {@link MachineState} given is the one it
 * runs on: the caller compares it, or overwrites it and then calls {@link #flushTlb()}.
 *
 * <p>Not modelled: interrupts from devices, the x87 and AVX register files (fxsave/xsave write
 * the SSE part only), compatibility mode and 32-bit iret/sysret, task switches, debug registers.
 */
public final class SystemMachine {
    /** QEMU's default MAXPHYADDR for the qemu64 CPU under TCG. */
    public static final int DEFAULT_PHYSICAL_BITS = 40;

    private final MachineState state;
    private final Mmu mmu;
    private final Interpreter interpreter;
    private final SystemInstructions system;
    private SystemTables tables;
    private CpuFault pending;
    private boolean bmi1 = true;
    private boolean lzcnt = true;
    private MachineObserver watcher;
    /**
     * Lifted instructions by address. A hit is used only if the bytes fetched now equal the
     * cached instruction's bytes, so code that changes (modules, alternatives, text_poke) is
     * lifted again; the fetch itself always goes through paging.
     */
    private final Map<Long, LiftedInstruction> lifted = new HashMap<>();
    private static final int MAX_LIFTED = 1 << 20;
    private final byte[] fetchBuffer = new byte[15];

    public SystemMachine(MachineState state, PhysMem ram, Environment env, SystemTables tables) {
        this(state, ram, env, tables, DEFAULT_PHYSICAL_BITS);
    }

    public SystemMachine(MachineState state, PhysMem ram, Environment env, SystemTables tables, int physicalAddressBits) {
        this.state = state;
        this.tables = tables;
        this.mmu = new Mmu(ram, state, physicalAddressBits);
        this.system = new SystemInstructions(this, mmu);
        this.interpreter = new Interpreter(mmu, address -> {
            throw new IllegalStateException("SystemMachine fetches its own instructions");
        }, env, system, (fault, s) -> pending = fault);
    }

    public MachineState state() { return state; }

    public SystemTables tables() { return tables; }

    public void setTables(SystemTables tables) { this.tables = tables; }

    /** The paging structure CR4 selects now. */
    public PagingFormat pagingFormat() { return mmu.format(); }

    /** XCR0 (set by xsetbv; x87 | SSE initially). */
    public long xcr0() { return system.xcr0(); }

    /** True after hlt until the next step. */
    public boolean halted() { return system.halted(); }

    /**
     * The guest CPU's BMI1 and LZCNT (ABM) features (both on by default). Without them F3 0F BC /
     * F3 0F BD are BSF / BSR with an ignored prefix, as on the CPUs before them (QEMU's qemu64):
     * Linux emits tzcnt for __ffs knowing this, and the flags differ (BSF: ZF = source is 0).
     */
    public void setBitCountFeatures(boolean bmi1, boolean lzcnt) {
        this.bmi1 = bmi1;
        this.lzcnt = lzcnt;
        lifted.clear();
    }

    /**
     * Reports every later step to {@code watcher} (null: none): instruction, µops, data accesses
     * with their translations, exception deliveries with the state before and after. Costs
     * nothing while null.
     */
    public void watch(MachineObserver watcher) {
        this.watcher = watcher;
        interpreter.observe(watcher);
        mmu.watch(watcher);
    }

    /**
     * The physical address of {@code va} for a read at the current privilege level (a walk may set
     * A bits and is reported to a watcher like any other; a fault is thrown as {@link CpuFault}).
     */
    public long physicalAddress(long va) { return mmu.translate(va, Access.READ, false); }

    /** Reports every later data access to {@code observer} (null: none). */
    public void observe(AccessObserver observer) { mmu.observe(observer); }

    /** Drops all cached translations: call after changing CR3/CR4 or page tables from outside. */
    public void flushTlb() { mmu.flushAll(); }

    /**
     * Reads guest-virtual memory as the CPU would at the current privilege level (A bits may be
     * set; a fault is thrown as {@link CpuFault}, not delivered).
     */
    public long readVirtual(long va, int size) { return mmu.read(va, size); }

    /** Executes one instruction, delivering any exception it raises through the IDT. */
    public Step step() {
        long rip = state.rip();
        system.clearHalt();
        List<Step.Delivery> delivered = new ArrayList<>();
        LiftedInstruction li;
        int cpl = state.cpl();
        try {
            li = fetch(rip);
        } catch (CpuFault f) {
            if (watcher != null) {
                watcher.fetched(rip, cpl, null);
            }
            deliver(f, rip, rip, false, delivered);
            return new Step(rip, null, delivered);
        }
        if (watcher != null) {
            watcher.fetched(rip, cpl, li);
        }
        pending = null;
        interpreter.execute(li, state);
        if (pending != null) {
            CpuFault f = pending;
            pending = null;
            Mnemonic m = li.instruction().mnemonic();
            boolean software = m == Mnemonic.INT || m == Mnemonic.INT3;
            // int n / int3 / int1 are traps: the frame returns past them (SDM vol. 3 §6.5)
            long returnRip = software || m == Mnemonic.INT1 ? li.instruction().nextAddress() : rip;
            deliver(f, returnRip, rip, software, delivered);
        }
        return new Step(rip, li, delivered);
    }

    /** Fetches (with execute checks) and lifts the instruction at {@code rip}. */
    private LiftedInstruction fetch(long rip) {
        byte[] buf = fetchBuffer;
        LiftedInstruction cached = lifted.get(rip);
        if (cached != null) {
            byte[] want = cached.instruction().bytes();
            // fetch exactly the cached length: the next page is touched only if that instruction reaches it
            int n = mmu.fetch(rip, buf, want.length, Access.FETCH);
            if (n == want.length && Arrays.equals(buf, 0, n, want, 0, n)) {
                return cached;
            }
        }
        int onPage = (int) Math.min(buf.length, 4096 - (rip & 0xFFF));
        int n = mmu.fetch(rip, buf, onPage, Access.FETCH);
        CpuFeatures features = new CpuFeatures(bmi1, lzcnt);
        LiftedInstruction li;
        try {
            li = lift(Arrays.copyOf(buf, n), rip, features);
        } catch (DecodeException e) {
            if (!e.truncated() || onPage == buf.length) {
                throw notEmulated(rip, Arrays.copyOf(buf, n), e);
            }
            // the instruction continues on the next page: fetch it now (a fault there is the fetch's fault)
            n = mmu.fetchOrThrow(rip, buf, buf.length);
            try {
                li = lift(Arrays.copyOf(buf, n), rip, features);
            } catch (DecodeException | LiftException again) {
                throw notEmulated(rip, Arrays.copyOf(buf, n), again);
            }
        } catch (LiftException e) {
            throw notEmulated(rip, Arrays.copyOf(buf, n), e);
        }
        if (lifted.size() >= MAX_LIFTED) {
            lifted.clear();
        }
        lifted.put(rip, li);
        return li;
    }

    private static IllegalStateException notEmulated(long rip, byte[] bytes, RuntimeException e) {
        return new IllegalStateException("instruction at rip 0x" + Long.toHexString(rip) + " ("
                + hex(bytes) + ") is not emulated: " + e.getMessage(), e);
    }

    /**
     * Decodes and lifts the instruction at the start of {@code bytes} (at linear {@code address}) as
     * a CPU with {@code features} runs it: the one lifting the machine, trace readers and the
     * slicer share, so µop index i names the same µop everywhere.
     *
     * @throws DecodeException or {@link LiftException} when it cannot
     */
    public static LiftedInstruction lift(byte[] bytes, long address, CpuFeatures features) {
        return Lifter.lift(withoutMissingFeatures(Decoder.decode(bytes, 0, address), features));
    }

    private static Instruction withoutMissingFeatures(Instruction i, CpuFeatures f) {
        Mnemonic m = i.mnemonic() == Mnemonic.TZCNT && !f.bmi1() ? Mnemonic.BSF
                : i.mnemonic() == Mnemonic.LZCNT && !f.lzcnt() ? Mnemonic.BSR : null;
        return m == null ? i : new Instruction(i.address(), i.bytes(), m, i.condition(), i.operands(), i.operandSize(), i.prefixes());
    }

    // ---- exception delivery (SDM vol. 3 §6.12, §6.14 64-bit mode)

    private static final int DF = 8, TS = 10, NP = 11, SS = 12;

    private static boolean pushesErrorCode(int vector) {
        return vector == DF || vector == TS || vector == NP || vector == SS || vector == CpuFault.GP
                || vector == CpuFault.PF || vector == 17 || vector == 21;
    }

    private static boolean contributory(int vector) {
        return vector == CpuFault.DE || vector == TS || vector == NP || vector == SS || vector == CpuFault.GP;
    }

    /**
     * Delivers {@code fault}; a fault during delivery is combined with it as SDM Table 6-5 says:
     * contributory after contributory, or contributory/#PF after #PF, gives #DF; any of those
     * after #DF is a triple fault (shutdown, thrown); otherwise the second is delivered instead.
     */
    private void deliver(CpuFault fault, long returnRip, long faultRip, boolean software, List<Step.Delivery> out) {
        if (tables.idtLimit() < 0) {
            throw new IllegalStateException("exception " + fault.vector() + " at rip 0x" + Long.toHexString(faultRip)
                    + " needs the IDT, but no SystemTables were given: " + fault.getMessage());
        }
        CpuFault f = fault;
        long ret = returnRip;
        boolean soft = software;
        boolean external = !software;   // EXT bit of gate errors: the event came from the CPU, not int n
        if (watcher != null) {
            watcher.deliveryStarts(fault, state);
        }
        while (true) {
            int vector = f.vector();
            long err = pushesErrorCode(vector) && !soft ? f.errorCode() : -1;
            if (vector == CpuFault.PF) {
                state.set(Loc.CR2, f.address());
            }
            try {
                long handler = pushFrame(vector, err, ret, soft, external);
                Step.Delivery d = new Step.Delivery(vector, err, handler, f.getMessage());
                out.add(d);
                if (watcher != null) {
                    watcher.delivered(d, ret, state);
                }
                return;
            } catch (CpuFault second) {
                int v2 = second.vector();
                boolean doubleFault = contributory(vector) && contributory(v2)
                        || vector == CpuFault.PF && (contributory(v2) || v2 == CpuFault.PF);
                if (vector == DF && (contributory(v2) || v2 == CpuFault.PF)) {
                    throw new IllegalStateException("triple fault (shutdown) at rip 0x" + Long.toHexString(faultRip)
                            + ": " + second.getMessage() + " while delivering #DF");
                }
                if (doubleFault) {
                    if (v2 == CpuFault.PF) {
                        state.set(Loc.CR2, second.address());
                    }
                    f = new CpuFault(DF, 0, 0, "#DF: " + second.getMessage() + " while delivering vector " + vector
                            + " (" + f.getMessage() + ")");
                } else {
                    f = second;
                }
                ret = faultRip;
                external = true;
                soft = false;
            }
        }
    }

    /** Reads the gate, switches stacks, pushes the frame and enters the handler; returns its address. */
    private long pushFrame(int vector, long err, long returnRip, boolean software, boolean external) {
        int ext = external ? 1 : 0;
        long gateError = vector * 8L + 2 + ext;   // IDT bit set
        if (vector * 16L + 15 > tables.idtLimit()) {
            throw new CpuFault(CpuFault.GP, gateError, 0, "#GP: vector " + vector + " is beyond the IDT limit 0x"
                    + Integer.toHexString(tables.idtLimit()));
        }
        long lo = mmu.read(tables.idtBase() + vector * 16L, 8, Access.READ, true);
        long hi = mmu.read(tables.idtBase() + vector * 16L + 8, 8, Access.READ, true);
        int type = (int) (lo >>> 40) & 0xF;
        int dpl = (int) (lo >>> 45) & 3;
        int cpl = state.cpl();
        if (type != 0xE && type != 0xF) {
            throw new CpuFault(CpuFault.GP, gateError, 0, "#GP: IDT entry " + vector + " has type " + type
                    + ", not a 64-bit interrupt or trap gate");
        }
        if (software && dpl < cpl) {
            throw new CpuFault(CpuFault.GP, vector * 8L + 2, 0, "#GP: int " + vector + " at CPL " + cpl
                    + " through a gate of DPL " + dpl);
        }
        if ((lo >>> 47 & 1) == 0) {
            throw new CpuFault(NP, gateError, 0, "#NP: IDT entry " + vector + " not present");
        }
        int selector = (int) (lo >>> 16) & 0xFFFF;
        long target = lo & 0xFFFF | (lo >>> 48 & 0xFFFF) << 16 | (hi & 0xFFFF_FFFFL) << 32;
        int ist = (int) (lo >>> 32) & 7;
        int newCpl = codeSegmentDpl(selector, ext);
        if (newCpl > cpl) {
            throw new CpuFault(CpuFault.GP, (selector & ~3) + ext, 0, "#GP: handler of vector " + vector
                    + " runs at CPL " + newCpl + " above the current " + cpl);
        }
        long oldRsp = state.gpr(4);
        long oldSs = state.get(Loc.SEL0 + 2);
        long rsp;
        if (ist != 0) {
            rsp = mmu.read(tables.tssBase() + 0x24 + 8L * (ist - 1), 8, Access.READ, true);
        } else if (newCpl < cpl) {
            rsp = mmu.read(tables.tssBase() + 4 + 8L * newCpl, 8, Access.READ, true);
        } else {
            rsp = oldRsp;
        }
        rsp &= ~0xFL;   // 64-bit mode aligns the new stack (SDM §6.14.2)
        long[] frame = err >= 0
                ? new long[]{oldSs, oldRsp, state.rflags(), state.get(Loc.SEL0 + 1), returnRip, err}
                : new long[]{oldSs, oldRsp, state.rflags(), state.get(Loc.SEL0 + 1), returnRip};
        boolean supervisor = newCpl < 3;
        for (long value : frame) {
            rsp -= 8;
            mmu.write(rsp, 8, value, supervisor);
        }
        // all pushes succeeded: commit the new context
        state.setGpr(4, rsp);
        if (newCpl < cpl || ist != 0) {
            // SS = null selector with RPL = new CPL on every stack switch; QEMU (the lockstep
            // oracle) counts an IST stack as a switch even at the same CPL, so this does too
            state.set(Loc.SEL0 + 2, newCpl);
        }
        state.set(Loc.SEL0 + 1, selector & ~3 | newCpl);
        state.set(Loc.TF, 0).set(Loc.NT, 0).set(Loc.RF, 0);
        if (type == 0xE) {
            state.set(Loc.IF, 0);
        }
        state.setRip(target);
        return target;
    }

    /** DPL of the code segment {@code selector} names in the GDT (the handler's CPL). */
    private int codeSegmentDpl(int selector, int ext) {
        if ((selector & ~3) == 0) {
            throw new CpuFault(CpuFault.GP, ext, 0, "#GP: null code-segment selector in an IDT gate");
        }
        if ((selector & 4) != 0 || (selector | 7) > tables.gdtLimit()) {
            throw new CpuFault(CpuFault.GP, (selector & ~3) + ext, 0, "#GP: code selector 0x" + Integer.toHexString(selector)
                    + " outside the GDT (limit 0x" + Integer.toHexString(tables.gdtLimit()) + ")");
        }
        long d = mmu.read(tables.gdtBase() + (selector & ~7), 8, Access.READ, true);
        if ((d >>> 43 & 1) == 0 || (d >>> 53 & 1) == 0) {
            throw new CpuFault(CpuFault.GP, (selector & ~3) + ext, 0, "#GP: selector 0x" + Integer.toHexString(selector)
                    + " is not a 64-bit code segment (descriptor 0x" + Long.toHexString(d) + ")");
        }
        return (int) (d >>> 45) & 3;
    }

    /** Base of the data segment {@code selector} (FS/GS loads): 0 for a null selector, as QEMU does. */
    long segmentBase(int selector) {
        if ((selector & ~3) == 0) {
            return 0;
        }
        if ((selector & 4) != 0 || (selector | 7) > tables.gdtLimit()) {
            throw new CpuFault(CpuFault.GP, selector & ~3, 0, "#GP: selector 0x" + Integer.toHexString(selector)
                    + " outside the GDT");
        }
        long d = mmu.read(tables.gdtBase() + (selector & ~7), 8, Access.READ, true);
        return (d >>> 16 & 0xFF_FFFFL) | (d >>> 56 & 0xFF) << 24;
    }

    /**
     * Whether data selector {@code selector} stays loaded after a return to {@code cpl} (SDM iret:
     * a data or non-conforming code segment with DPL < CPL is nulled). Null selectors stay.
     */
    boolean usableAt(int selector, int cpl) {
        if ((selector & ~3) == 0 || (selector & 4) != 0 || (selector | 7) > tables.gdtLimit()) {
            return true;
        }
        long d = mmu.read(tables.gdtBase() + (selector & ~7), 8, Access.READ, true);
        boolean conformingCode = (d >>> 43 & 1) != 0 && (d >>> 42 & 1) != 0;
        return conformingCode || (d >>> 45 & 3) >= cpl;
    }

    private static String hex(byte[] b) {
        StringBuilder s = new StringBuilder();
        for (byte x : b) {
            s.append(s.length() == 0 ? "" : " ").append(String.format("%02x", x & 0xFF));
        }
        return s.toString();
    }
}
