package dev.vmsight.jit;

import dev.vmsight.vmi.BudgetExceededException;

import java.util.Map;

/**
 * A program compiled to a hidden JVM class. Thread-safe: every run has its own state array,
 * memory view and run support.
 */
public final class CompiledMonitor implements Monitor {
    private final CompiledBody body;
    private final ControlTable table;
    private final byte[] classBytes;

    CompiledMonitor(CompiledBody body, ControlTable table, byte[] classBytes) {
        this.body = body;
        this.table = table;
        this.classBytes = classBytes;
    }

    @Override
    public MonitorResult run(MonitorContext ctx) {
        long[] s = ctx.initialState().clone();
        MonitorMemory mem = new MonitorMemory(ctx.memory());
        RunSupport rt = new RunSupport(table, mem, ctx.env(), ctx.system(), ctx.budget().start());
        try {
            body.run(s, mem, rt);
            return new MonitorResult.Completed(s, mem, rt.reports(), ctx.budget().steps());
        } catch (UnseenPath p) {
            return new MonitorResult.Unseen(p);
        } catch (BudgetExceededException e) {
            return new MonitorResult.OverBudget(e);
        } catch (MonitorFault f) {
            return new MonitorResult.Failed(f, rt.reports());
        } catch (RuntimeException e) {     // not caused by an instruction: still a result, never an escape
            return new MonitorResult.Failed(new MonitorFault(null, e), rt.reports());
        }
    }

    /** The generated class file (for the bundle cache and inspection). */
    public byte[] classBytes() { return classBytes.clone(); }

    /** Bytecode length of each generated method (name + descriptor → bytes). */
    public Map<String, Integer> methodSizes() { return ClassFiles.codeLengths(classBytes); }
}
