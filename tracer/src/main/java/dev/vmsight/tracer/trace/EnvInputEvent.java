package dev.vmsight.tracer.trace;

/**
 * A value from outside the machine that step {@code step} consumed: {@code kind} is the µop kind's
 * name (RDTSC, CPUID, RDMSR, PORT_IN, RDRAND), {@code args} its arguments (cpuid leaf/subleaf, MSR
 * number, port and size), {@code values} what it returned, {@code source} where the value came from
 * (e.g. "qemu lockstep step 212").
 */
public record EnvInputEvent(long step, String kind, long[] args, long[] values, String source) implements TraceEvent { }
