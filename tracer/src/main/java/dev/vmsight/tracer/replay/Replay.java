package dev.vmsight.tracer.replay;

import dev.vmsight.ir.interp.MachineState;
import dev.vmsight.ir.sys.SystemMachine;
import dev.vmsight.ir.sys.SystemTables;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.tracer.trace.TraceHeader;
import dev.vmsight.tracer.trace.TraceSink;

/**
 * Replays START..END on a {@link SystemMachine} and records every step into a {@link TraceSink}
 * through a {@link TraceRecorder}. END is the first time RIP equals {@code markOut} with the given
 * CR3 (compared on its address bits only: not PCID, not bit 63), checked before the instruction runs. At
 * END the output buffer is read as vmsight_mark_out(buf = rdi, len = rsi) names it, through the
 * machine's own paging, after the recording stopped (so reading it is not traced).
 *
 * <p>The sink gets events only: the caller decides fidelity and calls
 * {@code sink.finish(result.summary(fidelity))}.
 */
public final class Replay {
    /** Instructions between two {@link ReplayProgress} reports. */
    public static final long PROGRESS_INTERVAL = 10_000;
    /** Largest output buffer read at END (a larger rsi is a bad END, not an answer). */
    public static final long MAX_OUTPUT = 64L << 20;
    /** CR3's page-table address bits: PCID (bits 0-11) and the no-flush bit 63 do not name an address space. */
    private static final long CR3_ADDRESS = 0x000F_FFFF_FFFF_F000L;

    private Replay() { }

    /**
     * @throws UnknownEnvironmentValueException when a step needs a value {@code input.environment()} lacks
     * @throws ReplayBudgetException when the budget runs out before END
     * @throws IllegalStateException naming the step and RIP when the machine cannot run an instruction
     */
    public static ReplayResult run(ReplayInput input, TraceSink sink, ReplayBudget budget, ReplayProgress progress) {
        TraceHeader.StartState start = input.start();
        if (start.architectural().length != Loc.ARCH_COUNT) {
            throw new IllegalArgumentException("start state has " + start.architectural().length
                    + " architectural values, the machine has " + Loc.ARCH_COUNT + " locations");
        }
        MachineState state = new MachineState();
        for (int i = 0; i < Loc.ARCH_COUNT; i++) {
            state.set(i, start.architectural()[i]);
        }
        TraceRecorder recorder = new TraceRecorder(sink);
        RecordedEnvironment env = input.environment();
        SystemMachine machine = new SystemMachine(state, input.memory(), recorder.recording(env),
                new SystemTables(start.gdtBase(), start.gdtLimit(), start.idtBase(), start.idtLimit(), start.tssBase()),
                start.physicalAddressBits());
        machine.setBitCountFeatures(input.features().bmi1(), input.features().lzcnt());
        machine.watch(recorder);

        long t0 = System.nanoTime();
        long maxNanos = (long) (budget.maxSeconds() * 1e9);
        long steps = 0;
        long endCr3 = input.cr3() & CR3_ADDRESS;
        while (state.rip() != input.markOut() || (state.get(Loc.CR3) & CR3_ADDRESS) != endCr3) {
            if (steps >= budget.maxInstructions()) {
                throw new ReplayBudgetException("ran out of its " + budget.maxInstructions() + "-instruction budget",
                        steps, state.rip(), seconds(t0));
            }
            if ((steps & 1023) == 0 && System.nanoTime() - t0 > maxNanos) {
                throw new ReplayBudgetException("ran out of its " + budget.maxSeconds() + " s budget", steps,
                        state.rip(), seconds(t0));
            }
            steps++;
            long rip = state.rip();
            env.atStep(steps, rip);
            try {
                machine.step();
            } catch (UnknownEnvironmentValueException e) {
                throw e;
            } catch (RuntimeException e) {
                throw new IllegalStateException("replay step " + steps + " at rip 0x" + Long.toHexString(rip) + ": "
                        + e.getMessage(), e);
            }
            recorder.endStep();
            if (steps % PROGRESS_INTERVAL == 0) {
                progress.replayed(steps, state.rip());
            }
        }
        machine.watch(null);
        double seconds = seconds(t0);
        long buf = state.gpr(7);
        long len = state.gpr(6);
        if (len < 0 || len > MAX_OUTPUT) {
            throw new IllegalStateException("at END (step " + steps + ") vmsight_mark_out's length rsi = " + len
                    + " is not a buffer length (at most " + MAX_OUTPUT + ")");
        }
        byte[] out = new byte[(int) len];
        for (int i = 0; i < len; i++) {
            out[i] = (byte) machine.readVirtual(buf + i, 1);
        }
        long[] pages = new long[len == 0 ? 0 : (int) (((buf + len - 1) >>> 12) - (buf >>> 12) + 1)];
        for (int p = 0; p < pages.length; p++) {
            pages[p] = machine.physicalAddress(((buf >>> 12) + p) << 12);
        }
        return new ReplayResult(steps, true, buf, out, pages, seconds, recorder.counts());
    }

    private static double seconds(long t0) { return (System.nanoTime() - t0) / 1e9; }
}
