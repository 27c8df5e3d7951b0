package dev.vmsight.jit;

import dev.vmsight.ir.interp.Environment;

/**
 * An {@link Environment} whose answers depend on the instruction asking: training records rdtsc,
 * cpuid... per instruction site, and two sites may have seen different values. A compiled monitor
 * given one (in {@link MonitorContext#env()}) asks {@link #at} with the address of the instruction
 * whose environment µop it runs, and asks that environment; the site-less methods are for callers
 * that do not know the site.
 */
public interface SiteEnvironment extends Environment {
    /** The environment as seen by the instruction at linear address {@code site}. */
    Environment at(long site);
}
