package dev.vmsight.jit;

import dev.vmsight.ir.interp.CodeSource;
import dev.vmsight.ir.interp.Environment;
import dev.vmsight.ir.interp.PagedMemory;
import dev.vmsight.ir.interp.SystemLayer;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.vmi.Budget;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

/** Two rdtsc at different addresses get the values their own sites recorded (a SiteEnvironment). */
class SiteEnvironmentTest {
    static final long CODE = 0x40_0000L;
    /** rdtsc; mov rbx, rax; rdtsc; nop (the end) */
    static final byte[] TWO_RDTSC = HexFormat.of().parseHex("0f314889c30f3190");

    /** Answers rdtsc per site from a table; the site-less methods refuse, so a site-less query fails the test. */
    private record PerSite(Map<Long, Long> tsc) implements SiteEnvironment {
        @Override public Environment at(long site) {
            return new Environment() {
                @Override public long rdtsc() {
                    Long v = tsc.get(site);
                    if (v == null) throw new IllegalStateException("no rdtsc at 0x" + Long.toHexString(site));
                    return v;
                }
                @Override public long[] cpuid(long leaf, long subleaf) { return NONE.cpuid(leaf, subleaf); }
                @Override public long rdmsr(long msr) { return NONE.rdmsr(msr); }
                @Override public long portIn(long port, int size) { return NONE.portIn(port, size); }
                @Override public long rdrand(int size) { return NONE.rdrand(size); }
            };
        }
        @Override public long rdtsc() { return NONE.rdtsc(); }
        @Override public long[] cpuid(long leaf, long subleaf) { return NONE.cpuid(leaf, subleaf); }
        @Override public long rdmsr(long msr) { return NONE.rdmsr(msr); }
        @Override public long portIn(long port, int size) { return NONE.portIn(port, size); }
        @Override public long rdrand(int size) { return NONE.rdrand(size); }
    }

    @Test
    void eachRdtscGetsItsOwnSitesValue() {
        PagedMemory mem = new PagedMemory();
        mem.load(CODE, TWO_RDTSC);
        long end = CODE + 7;
        JitProgram program = JitProgram.fromCode(CodeSource.decoding(mem), CODE, end);
        long[] initial = new long[Loc.COUNT];
        initial[Loc.RIP] = CODE;
        Environment env = new PerSite(Map.of(CODE, 0x1_1111_2222L, CODE + 5, 0x3_3333_4444L));
        MonitorResult r = MonitorCompiler.compile(program).run(new MonitorContext(initial, a -> {
            throw new IllegalStateException("no memory is read (0x" + Long.toHexString(a) + ")");
        }, env, SystemLayer.USER_MODE, Budget.of(1000, Duration.ofSeconds(5))));
        MonitorResult.Completed c = assertInstanceOf(MonitorResult.Completed.class, r, String.valueOf(r));
        assertEquals(0x1111_2222L, c.state()[Loc.GPR0 + 3], "rbx: low half of the first site's tsc");
        assertEquals(0x3333_4444L, c.state()[Loc.GPR0], "rax: low half of the second site's tsc");
        assertEquals(0x3L, c.state()[Loc.GPR0 + 2], "rdx: high half of the second site's tsc");
    }
}
