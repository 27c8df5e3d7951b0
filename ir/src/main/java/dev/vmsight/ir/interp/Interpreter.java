package dev.vmsight.ir.interp;

import dev.vmsight.ir.uop.LiftedInstruction;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.uop.Uop;
import dev.vmsight.ir.uop.UopKind;
import dev.vmsight.ir.uop.UopSemantics;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static dev.vmsight.ir.uop.UopSemantics.*;

/**
 * The µop interpreter: executes lifted instructions over a {@link MachineState} and a
 * {@link Memory}. The value semantics live in {@link UopSemantics}; this class only moves
 * values between locations, memory, the {@link Environment} and the {@link SystemLayer}.
 * Blocks of lifted instructions are cached by address ({@link #invalidate} after code changes).
 *
 * <p>An instruction that faults leaves RIP at itself and calls the {@link FaultHandler}; µops
 * before the faulting one have run (the lifter puts the µops that may fault before the
 * architectural writes of the instruction).
 */
public final class Interpreter {
    private static final int MAX_BLOCK = 64;

    private final Memory memory;
    private final CodeSource code;
    private final Environment env;
    private final SystemLayer system;
    private final FaultHandler faults;
    private final Map<Long, Compiled[]> blocks = new HashMap<>();
    /** Null unless someone watches: the µop loop tests it once per µop and does nothing else. */
    private UopObserver observer;
    /** The µop executing, kept only while observed (for {@link UopObserver#faulted}). */
    private int observedIndex;
    private Uop observedUop;

    public Interpreter(Memory memory, CodeSource code, Environment env, SystemLayer system, FaultHandler faults) {
        this.memory = memory;
        this.code = code;
        this.env = env;
        this.system = system;
        this.faults = faults;
    }

    /** A user-mode interpreter: no environment, no system layer, faults rethrown. */
    public static Interpreter userMode(Memory memory, CodeSource code) {
        return new Interpreter(memory, code, Environment.NONE, SystemLayer.USER_MODE, FaultHandler.RETHROW);
    }

    /** One instruction and its µops as an array, with the fall-through address. */
    private record Compiled(Uop[] uops, long next) {
        static Compiled of(LiftedInstruction li) {
            return new Compiled(li.uops().toArray(new Uop[0]), li.instruction().nextAddress());
        }
    }

    public void invalidate() { blocks.clear(); }

    /** Reports every later µop to {@code observer} (null: none). */
    public void observe(UopObserver observer) { this.observer = observer; }

    /**
     * Runs until RIP equals {@code stopAt} or {@code maxInstructions} have executed.
     *
     * @return the number of instructions executed (a rep iteration counts as one)
     */
    public long run(MachineState state, long stopAt, long maxInstructions) {
        long count = 0;
        long[] v = state.v;
        while (count < maxInstructions && v[Loc.RIP] != stopAt) {
            Compiled[] block = blocks.get(v[Loc.RIP]);
            if (block == null) {
                block = buildBlock(v[Loc.RIP], stopAt);
                blocks.put(v[Loc.RIP], block);
            }
            for (Compiled c : block) {
                if (!step(c, state)) {
                    count++;
                    break;
                }
                count++;
                if (v[Loc.RIP] != c.next || count >= maxInstructions || c.next == stopAt) {
                    break;
                }
            }
        }
        return count;
    }

    /**
     * Decodes a block: up to a block-ending instruction, MAX_BLOCK instructions, or the stop
     * address (never fetched: it may not be code). A block cut short is still correct when
     * reused with another stop address; execution just continues in the next block.
     */
    private Compiled[] buildBlock(long address, long stopAt) {
        List<Compiled> list = new ArrayList<>();
        long a = address;
        while (list.size() < MAX_BLOCK && (list.isEmpty() || a != stopAt)) {
            LiftedInstruction li = code.at(a);
            list.add(Compiled.of(li));
            if (li.endsBlock()) {
                break;
            }
            a = li.instruction().nextAddress();
        }
        return list.toArray(new Compiled[0]);
    }

    /** Executes one lifted instruction (RIP must be its address). Faults go to the FaultHandler. */
    public void execute(LiftedInstruction li, MachineState state) {
        step(Compiled.of(li), state);
    }

    /** @return false if the instruction faulted */
    private boolean step(Compiled c, MachineState state) {
        try {
            state.v[Loc.RIP] = exec(c.uops, c.next, state);
            return true;
        } catch (CpuFault f) {
            if (observer != null) {
                observer.faulted(observedIndex, observedUop, f, state);
            }
            faults.onFault(f, state);
            return false;
        } catch (DivideError e) {
            CpuFault f = new CpuFault(CpuFault.DE, 0, 0, "#DE (" + e.getMessage() + ") at rip 0x"
                    + Long.toHexString(state.rip()));
            if (observer != null) {
                observer.faulted(observedIndex, observedUop, f, state);
            }
            faults.onFault(f, state);
            return false;
        }
    }

    /**
     * Runs the µops of one instruction; returns the next RIP. The switch is an expression, so a new
     * µop kind is a compile error here; {@code leave} means "the instruction ends now".
     */
    private long exec(Uop[] uops, long next, MachineState state) {
        long[] v = state.v;
        UopObserver watcher = observer;
        for (int index = 0; index < uops.length; index++) {
            Uop u = uops[index];
            if (watcher != null) {
                observedIndex = index;
                observedUop = u;
                watcher.before(index, u, state);
            }
            int[] o = u.out();
            int[] i = u.in();
            long[] k = u.imm();
            int size = u.size();
            boolean leave = switch (u.kind()) {
                case CONST -> {
                    v[o[0]] = k[0];
                    yield false;
                }
                case MOV -> {
                    v[o[0]] = v[i[0]];
                    yield false;
                }
                case ZEXT -> {
                    v[o[0]] = zext(v[i[0]], size);
                    yield false;
                }
                case SEXT -> {
                    v[o[0]] = sext(v[i[0]], size);
                    yield false;
                }
                case MERGE -> {
                    v[o[0]] = merge(v[i[0]], v[i[1]], size, k[0]);
                    yield false;
                }
                case EXTRACT -> {
                    v[o[0]] = extract(v[i[0]], size, k[0]);
                    yield false;
                }
                case ADD -> {
                    v[o[0]] = v[i[0]] + v[i[1]];
                    yield false;
                }
                case SUB -> {
                    v[o[0]] = v[i[0]] - v[i[1]];
                    yield false;
                }
                case AND -> {
                    v[o[0]] = v[i[0]] & v[i[1]];
                    yield false;
                }
                case OR -> {
                    v[o[0]] = v[i[0]] | v[i[1]];
                    yield false;
                }
                case XOR -> {
                    v[o[0]] = v[i[0]] ^ v[i[1]];
                    yield false;
                }
                case NOT -> {
                    v[o[0]] = ~v[i[0]];
                    yield false;
                }
                case NEG -> {
                    v[o[0]] = -v[i[0]];
                    yield false;
                }
                case SHL -> {
                    v[o[0]] = v[i[0]] << v[i[1]];
                    yield false;
                }
                case SHR -> {
                    v[o[0]] = v[i[0]] >>> v[i[1]];
                    yield false;
                }
                case SAR -> {
                    v[o[0]] = v[i[0]] >> v[i[1]];
                    yield false;
                }
                case ROL -> {
                    v[o[0]] = rol(v[i[0]], v[i[1]], size);
                    yield false;
                }
                case ROR -> {
                    v[o[0]] = ror(v[i[0]], v[i[1]], size);
                    yield false;
                }
                case MUL -> {
                    v[o[0]] = v[i[0]] * v[i[1]];
                    yield false;
                }
                case UMULH -> {
                    v[o[0]] = umulh(v[i[0]], v[i[1]]);
                    yield false;
                }
                case SMULH -> {
                    v[o[0]] = smulh(v[i[0]], v[i[1]]);
                    yield false;
                }
                case DIVU -> {
                    long[] qr = divu(v[i[0]], v[i[1]], v[i[2]], size);
                    v[o[0]] = qr[0];
                    v[o[1]] = qr[1];
                    yield false;
                }
                case DIVS -> {
                    long[] qr = divs(v[i[0]], v[i[1]], v[i[2]], size);
                    v[o[0]] = qr[0];
                    v[o[1]] = qr[1];
                    yield false;
                }
                case SELECT -> {
                    v[o[0]] = v[i[0]] != 0 ? v[i[1]] : v[i[2]];
                    yield false;
                }
                case EQ -> {
                    v[o[0]] = v[i[0]] == v[i[1]] ? 1 : 0;
                    yield false;
                }
                case BIT -> {
                    v[o[0]] = (v[i[0]] >>> v[i[1]]) & 1;
                    yield false;
                }
                case BSWAP -> {
                    v[o[0]] = bswap(v[i[0]], size);
                    yield false;
                }
                case BSF -> {
                    v[o[0]] = bsf(v[i[0]], v[i[1]], size);
                    yield false;
                }
                case BSR -> {
                    v[o[0]] = bsr(v[i[0]], v[i[1]], size);
                    yield false;
                }
                case TZCNT -> {
                    v[o[0]] = tzcnt(v[i[0]], size);
                    yield false;
                }
                case LZCNT -> {
                    v[o[0]] = lzcnt(v[i[0]], size);
                    yield false;
                }
                case POPCNT -> {
                    v[o[0]] = popcnt(v[i[0]], size);
                    yield false;
                }
                case ZERO -> {
                    v[o[0]] = zero(v[i[0]], size);
                    yield false;
                }
                case SIGN -> {
                    v[o[0]] = sign(v[i[0]], size);
                    yield false;
                }
                case PARITY -> {
                    v[o[0]] = parity(v[i[0]]);
                    yield false;
                }
                case AUX -> {
                    v[o[0]] = aux(v[i[0]], v[i[1]], v[i[2]]);
                    yield false;
                }
                case CARRY_ADD -> {
                    v[o[0]] = carryAdd(v[i[0]], v[i[1]], v[i[2]], size);
                    yield false;
                }
                case OVERFLOW_ADD -> {
                    v[o[0]] = overflowAdd(v[i[0]], v[i[1]], v[i[2]], size);
                    yield false;
                }
                case BORROW_SUB -> {
                    v[o[0]] = borrowSub(v[i[0]], v[i[1]], v[i[2]], size);
                    yield false;
                }
                case OVERFLOW_SUB -> {
                    v[o[0]] = overflowSub(v[i[0]], v[i[1]], v[i[2]], size);
                    yield false;
                }
                case LOAD -> {
                    v[o[0]] = memory.read(v[i[0]], size);
                    yield false;
                }
                case STORE -> {
                    memory.write(v[i[0]], size, v[i[1]]);
                    yield false;
                }
                case JUMP, CALL -> {
                    next = k[0];
                    yield false;
                }
                case BRANCH -> {
                    next = v[i[0]] != 0 ? k[0] : k[1];
                    yield false;
                }
                case EXIT_IF -> {
                    if (v[i[0]] != 0) {
                        next = k[0];
                        yield true;
                    }
                    yield false;
                }
                case JUMP_IND, CALL_IND, RET -> {
                    next = v[i[0]];
                    yield false;
                }
                case FAULT -> throw new CpuFault((int) k[0], k[1], 0,
                        "exception " + k[0] + " raised at rip 0x" + Long.toHexString(v[Loc.RIP]));
                case FENCE -> { yield false; }
                case RDTSC -> {
                    v[o[0]] = env.rdtsc();
                    yield false;
                }
                case CPUID -> {
                    long[] r = env.cpuid(v[i[0]] & 0xFFFF_FFFFL, v[i[1]] & 0xFFFF_FFFFL);
                    for (int n = 0; n < 4; n++) {
                        v[o[n]] = r[n] & 0xFFFF_FFFFL;
                    }
                    yield false;
                }
                case RDRAND -> {
                    v[o[0]] = zext(env.rdrand(size), size);
                    yield false;
                }
                case RDPKRU -> {
                    v[o[0]] = env.rdpkru() & 0xFFFF_FFFFL;
                    yield false;
                }
                case RDMSR -> {
                    requireRing0(state, "rdmsr");
                    int loc = Msrs.location(v[i[0]] & 0xFFFF_FFFFL);
                    v[o[0]] = loc >= 0 ? v[loc] : env.rdmsr(v[i[0]] & 0xFFFF_FFFFL);
                    yield false;
                }
                case PORT_IN -> {
                    requireRing0(state, "in");
                    v[o[0]] = zext(env.portIn(v[i[0]] & 0xFFFF, size), size);
                    yield false;
                }
                case WRMSR -> {
                    requireRing0(state, "wrmsr");
                    int loc = Msrs.location(v[i[0]] & 0xFFFF_FFFFL);
                    if (loc >= 0) {
                        v[loc] = v[i[1]];
                    } else {
                        system.execute(u, new long[]{v[i[0]], v[i[1]]}, state, memory);
                    }
                    yield false;
                }
                case PRIVILEGED -> {
                    requireRing0(state, "privileged instruction");
                    yield false;
                }
                case SYSREG_WRITE -> {
                    v[o[0]] = v[i[0]];
                    system.execute(u, new long[]{v[i[0]]}, state, memory);
                    yield false;
                }
                case PORT_OUT, INVLPG, SYSTEM_OP -> {
                    system.execute(u, inputs(u, v), state, memory);
                    yield false;
                }
                case SYSCALL, SYSRET, IRET, HLT -> {
                    system.execute(u, inputs(u, v), state, memory);
                    next = v[Loc.RIP];
                    yield true;
                }
            };
            if (watcher != null) {
                watcher.after(index, u, state);
            }
            if (leave) {
                return next;
            }
        }
        return next;
    }

    private static long[] inputs(Uop u, long[] v) {
        long[] r = new long[u.in().length];
        for (int n = 0; n < r.length; n++) {
            r[n] = v[u.in()[n]];
        }
        return r;
    }

    private static void requireRing0(MachineState state, String what) {
        if (state.cpl() != 0) {
            throw new CpuFault(CpuFault.GP, 0, 0, "#GP: " + what + " at CPL " + state.cpl()
                    + " (rip 0x" + Long.toHexString(state.rip()) + ")");
        }
    }
}
