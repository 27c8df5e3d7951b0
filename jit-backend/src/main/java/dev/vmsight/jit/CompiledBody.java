package dev.vmsight.jit;

/**
 * What a generated class implements: run the program from its entry to its end over the state
 * array {@code s} (one slot per ir Loc), reading and writing memory through {@code mem}, calling
 * {@code rt} for budget checks, unseen paths and the µops it delegates.
 */
interface CompiledBody {
    void run(long[] s, MonitorMemory mem, RunSupport rt);
}
