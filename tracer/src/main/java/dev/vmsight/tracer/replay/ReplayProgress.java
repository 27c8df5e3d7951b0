package dev.vmsight.tracer.replay;

/** Told about a long replay every {@link Replay#PROGRESS_INTERVAL} instructions. */
@FunctionalInterface
public interface ReplayProgress {
    void replayed(long steps, long rip);

    ReplayProgress NONE = (steps, rip) -> { };
}
