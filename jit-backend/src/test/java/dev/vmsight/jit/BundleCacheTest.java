package dev.vmsight.jit;

import dev.vmsight.vmi.Budget;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import static org.junit.jupiter.api.Assertions.*;

class BundleCacheTest {
    @TempDir
    Path dir;

    private static MonitorResult run(CompiledMonitor m, RandomPrograms.Case c) {
        return m.run(new MonitorContext(c.state(), RandomPrograms.source(c.pages()), new RandomPrograms.TestEnv(),
                RandomPrograms.TEST_SYSTEM, Budget.of(100_000, Duration.ofSeconds(5))));
    }

    @Test
    void missThenHitGivesTheSameMonitorAndDamageIsReplaced() throws Exception {
        RandomPrograms gen = new RandomPrograms(99, true);
        RandomPrograms.Case c = gen.next(40);
        RandomPrograms.Expected want = RandomPrograms.oracle(c);
        BundleCache cache = new BundleCache(dir);

        BundleCache.Served first = cache.compile(c.program(), "kernel-A");
        assertEquals(BundleCache.Outcome.MISS, first.outcome());
        assertTrue(Files.size(first.file()) > 100);
        BundleCache.Served second = cache.compile(c.program(), "kernel-A");
        assertEquals(BundleCache.Outcome.HIT, second.outcome());
        assertArrayEquals(first.monitor().classBytes(), second.monitor().classBytes());
        JitEquivalenceTest.agree(c, want, run(second.monitor(), c), "cached monitor");

        assertEquals(BundleCache.Outcome.MISS, cache.compile(c.program(), "kernel-B").outcome(), "another kernel build, another key");
        assertNotEquals(cache.fileFor(c.program(), "kernel-A"), cache.fileFor(c.program(), "kernel-B"));

        byte[] bytes = Files.readAllBytes(first.file());
        bytes[bytes.length / 2] ^= 0x40;
        Files.write(first.file(), bytes);
        BundleCache.Served fixed = cache.compile(c.program(), "kernel-A");
        assertEquals(BundleCache.Outcome.REPLACED_DAMAGED, fixed.outcome());
        assertTrue(fixed.problem().contains("CRC mismatch") && fixed.problem().contains(first.file().toString()), fixed.problem());
        JitEquivalenceTest.agree(c, want, run(fixed.monitor(), c), "recompiled monitor");
        assertEquals(BundleCache.Outcome.HIT, cache.compile(c.program(), "kernel-A").outcome());

        Files.write(first.file(), java.util.Arrays.copyOf(bytes, 30));
        BundleCache.Served truncated = cache.compile(c.program(), "kernel-A");
        assertEquals(BundleCache.Outcome.REPLACED_DAMAGED, truncated.outcome());
        assertTrue(truncated.problem().contains("truncated"), truncated.problem());

        Files.writeString(first.file(), "not a bundle at all");
        assertTrue(cache.compile(c.program(), "kernel-A").problem().contains("bad magic"));
    }

    @Test
    void theDigestCoversKeptSetsAndControl() {
        RandomPrograms.Case a = new RandomPrograms(5, true).next(10);
        RandomPrograms.Case b = new RandomPrograms(5, true).next(10);
        assertEquals(a.program().digest(), b.program().digest(), "same seed, same program, same digest");
        JitProgram.Instruction first = a.program().instructions().get(0);
        java.util.BitSet fewer = first.kept();
        fewer.clear(fewer.length() - 1);
        java.util.List<JitProgram.Instruction> list = new java.util.ArrayList<>(a.program().instructions());
        list.set(0, new JitProgram.Instruction(first.lifted(), fewer, first.control()));
        assertNotEquals(a.program().digest(), new JitProgram(a.program().entry(), a.program().end(), list).digest());
    }
}
