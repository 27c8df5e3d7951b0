/**
 * Replay START..END on the ir's {@code SystemMachine} and record the whole-system trace.
 *
 * <ul>
 *   <li>{@link dev.vmsight.tracer.replay.Replay#run} — the entry point: a {@link dev.vmsight.tracer.replay.ReplayInput}
 *       (start state, START memory as a copy-on-write overlay, CPU features, the
 *       {@link dev.vmsight.tracer.replay.RecordedEnvironment}, END = markOut with cr3), a
 *       {@code TraceSink}, a {@link dev.vmsight.tracer.replay.ReplayBudget} and a
 *       {@link dev.vmsight.tracer.replay.ReplayProgress}. It writes events only; the caller compares
 *       {@link dev.vmsight.tracer.replay.ReplayResult#outputBytes()} with the guest's answer and finishes the sink
 *       with {@code result.summary(fidelity)}.</li>
 *   <li>{@link dev.vmsight.tracer.replay.TraceRecorder} — a {@code MachineObserver} that turns steps into events
 *       (usable on any {@code SystemMachine}: watch with it, use {@code recording(env)} as the environment,
 *       call {@code endStep()} after each step).</li>
 *   <li>{@link dev.vmsight.tracer.replay.RecordedEnvironment} — environment values learned by the lockstep
 *       prefix, keyed by (step, kind, args); a missing one is an
 *       {@link dev.vmsight.tracer.replay.UnknownEnvironmentValueException} naming the step, kind and RIP.</li>
 * </ul>
 *
 * <p>Event order per step: the translations and environment inputs the instruction needed, the
 * instruction, then (if an exception was delivered) the delivery's new translations and the
 * delivery. An RDMSR of an MSR the machine state holds (EFER, LSTAR...) reads the state, not the
 * environment, so it produces no environment input event.
 */
package dev.vmsight.tracer.replay;
