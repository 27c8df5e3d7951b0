package dev.vmsight.jit;

/** A runnable introspection program: compiled ({@link CompiledMonitor}) or any other backend. */
public interface Monitor {
    /** Runs once against the context's memory and state. Never throws for guest-caused failures: they are results. */
    MonitorResult run(MonitorContext ctx);
}
