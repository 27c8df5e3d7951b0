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
 * decrements on back edges, unseen-path handling, and the rare µops (environment, system,
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
