package dev.vmsight.jit;

import dev.vmsight.ir.interp.Environment;
import dev.vmsight.ir.interp.FaultHandler;
import dev.vmsight.ir.interp.Interpreter;
import dev.vmsight.ir.interp.MachineState;
import dev.vmsight.ir.interp.Memory;
import dev.vmsight.ir.interp.SystemLayer;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.vmi.Budget;
import dev.vmsight.vmi.BudgetExceededException;

import java.util.ArrayList;
import java.util.List;

/**
 * The run-time half of a compiled monitor, one per run: the budget counter the generated code
 * decrements on back edges, unseen-path handling, the frame stack of structured calls, the arena
 * counter of ALLOCATE call summaries, and the rare µops (environment, system,
 * faults) that the generated code delegates to ir's Interpreter so their semantics are the
 * interpreter's by construction. Generated code calls it by index into the {@link ControlTable}.
 */
final class RunSupport {
    private final ControlTable table;
    private final MonitorMemory memory;
    private final Environment env;
    private final SystemLayer system;
    private final Budget budget;
    private final List<UnseenPath> reports = new ArrayList<>();
    private Interpreter interpreter;
    /** The frame stack: per open frame the instruction that pushed it and its saved values (flattened). */
    private int depth;
    private int[] frameOwner = new int[0];
    private long[][] frameValues = new long[0][];
    /** ALLOCATE call summaries this run has served (the next one gets arena slot {@code allocations}). */
    private long allocations;

    RunSupport(ControlTable table, MonitorMemory memory, Environment env, SystemLayer system, Budget budget) {
        this.table = table;
        this.memory = memory;
        this.env = env;
        this.system = system;
        this.budget = budget;
    }

    /** Called on every back edge and every transfer between generated methods: one budget step. */
    public void backEdge() {
        budget.step();
    }

    /** An evaluated control site saw {@code observed}: the generated code throws what this returns. */
    public UnseenPath unseen(int instruction, long observed) {
        return path(instruction, observed);
    }

    /** A REPORT_AND_FOLLOW site saw {@code observed}: recorded, the generated code follows the trained target. */
    public void report(int instruction, long observed) {
        reports.add(path(instruction, observed));
    }

    List<UnseenPath> reports() { return List.copyOf(reports); }

    private UnseenPath path(int instruction, long observed) {
        JitProgram.Control c = table.controls().get(instruction);
        return new UnseenPath(table.sites()[instruction], observed, c.successors());
    }

    /**
     * Instruction {@code instruction} opens a frame: its push's return address and the values in
     * {@code s} of the push's locations (the generated code has stored its locals of those
     * locations there first).
     *
     * @throws MonitorFault FRAME_DEPTH when {@link JitProgram#MAX_FRAME_DEPTH} frames are open
     */
    public void pushFrame(int instruction, long[] s) {
        int[] locs = table.pushLocs()[instruction];
        if (depth == JitProgram.MAX_FRAME_DEPTH) {
            throw new MonitorFault(table.sites()[instruction], MonitorFault.Kind.FRAME_DEPTH, "a call would open frame "
                    + (depth + 1) + ", more than the " + JitProgram.MAX_FRAME_DEPTH + " a run may hold (runaway recursion?)");
        }
        if (depth == frameOwner.length) {
            int n = Math.min(JitProgram.MAX_FRAME_DEPTH, Math.max(16, depth * 2));
            frameOwner = java.util.Arrays.copyOf(frameOwner, n);
            frameValues = java.util.Arrays.copyOf(frameValues, n);
        }
        long[] values = frameValues[depth];
        if (values == null || values.length < locs.length) {
            values = new long[Math.max(locs.length, 8)];
            frameValues[depth] = values;
        }
        for (int k = 0; k < locs.length; k++) {
            values[k] = s[locs[k]];
        }
        frameOwner[depth++] = instruction;
    }

    /**
     * A return: pops the innermost frame, writes its saved values into {@code s} and returns its
     * return address; with no frame open returns the program's end (the run is over).
     */
    public long popFrame(long[] s) {
        if (depth == 0) {
            return table.end();
        }
        depth--;
        int owner = frameOwner[depth];
        int[] locs = table.pushLocs()[owner];
        long[] values = frameValues[depth];
        for (int k = 0; k < locs.length; k++) {
            s[locs[k]] = values[k];
        }
        return table.pushes()[owner].returnAddress();
    }

    /**
     * An ALLOCATE call summary at instruction {@code instruction}: the run's next arena slot (the
     * first allocation of every run gets {@link Arena#BASE}), its first {@code zeroed} bytes
     * stored as zero, then the summary's initial image.
     *
     * @throws MonitorFault ARENA when the run has used every slot of the arena
     */
    public long allocate(int instruction, long zeroed) {
        if (allocations == Arena.SLOTS) {
            throw new MonitorFault(table.sites()[instruction], MonitorFault.Kind.ARENA, "allocation " + (allocations + 1)
                    + " of the run, the arena at 0x" + Long.toHexString(Arena.BASE) + " holds " + Arena.SLOTS
                    + " (a runaway allocation loop?)");
        }
        long object = Arena.slot(allocations++);
        memory.zero(object, Math.min(zeroed, Arena.SLOT));   // what the allocator zeroed
        JitProgram.Summary summary = table.summaries()[instruction];
        if (summary != null) {
            for (JitProgram.InitialValue v : summary.image()) {     // what its constructor left there
                memory.write(object + v.offset(), v.size(), v.relative() ? object + v.value() : v.value());
            }
        }
        return object;
    }

    /**
     * The number of the instruction at {@code address} where return {@code instruction} continues
     * (-1: the program's end).
     *
     * @throws MonitorFault OFF_PROGRAM when no instruction of the program is there
     */
    public int numberOf(int instruction, long address) {
        int n = table.numberOf(address);
        if (n == -2) {
            throw new MonitorFault(table.sites()[instruction], MonitorFault.Kind.OFF_PROGRAM, "the frame returns to 0x"
                    + Long.toHexString(address) + ", which is no instruction of the program");
        }
        return n;
    }

    /**
     * Runs delegated µop {@code index} with the interpreter over state {@code s} (the generated code
     * has spilled its locals there and reloads them after). Returns the next RIP for µops that end
     * the instruction (syscall, sysret, iret, hlt); RIP in {@code s} is left at the instruction.
     */
    public long delegate(int index, long[] s) {
        var li = table.delegated()[index];
        MachineState ms = new MachineState();
        for (int loc = 0; loc < Loc.COUNT; loc++) {
            ms.set(loc, s[loc]);
        }
        long site = li.instruction().address();
        if (env instanceof SiteEnvironment perSite) {
            // a new interpreter is cheap; it reads the environment of this instruction's site
            interpreter(perSite.at(site)).execute(li, ms);
        } else {
            if (interpreter == null) {
                interpreter = interpreter(env);
            }
            interpreter.execute(li, ms);
        }
        long next = ms.rip();
        for (int loc = 0; loc < Loc.COUNT; loc++) {
            s[loc] = ms.get(loc);
        }
        s[Loc.RIP] = site;
        return next;
    }

    private Interpreter interpreter(Environment e) {
        return new Interpreter(new MemoryAdapter(memory), address -> {
            throw new IllegalStateException("a compiled monitor fetches no code (0x" + Long.toHexString(address) + ")");
        }, e, system, FaultHandler.RETHROW);
    }

    /** Wraps what an instruction threw with its site (generated exception handlers call this). */
    public static RuntimeException fault(RuntimeException e, RunSupport rt, int instruction) {
        if (e instanceof UnseenPath || e instanceof BudgetExceededException || e instanceof MonitorFault) {
            return e;
        }
        return new MonitorFault(rt.table.sites()[instruction], e);
    }

    /** The interpreter's view of the monitor's memory. */
    private record MemoryAdapter(MonitorMemory memory) implements Memory {
        @Override
        public long read(long va, int size) { return memory.read(va, size); }

        @Override
        public void write(long va, int size, long value) { memory.write(va, size, value); }
    }

}
