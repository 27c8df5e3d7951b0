package dev.vmsight.jit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Why methods are split: in a child JVM with -XX:+PrintCompilation, every generated block method
 * below HugeMethodLimit is compiled by C2 (tier 4) once hot, while the same program emitted as
 * one method above the limit is never compiled at all and runs interpreted.
 */
class HotSpotCompilationTest {
    @TempDir
    Path dir;

    /** The probe's report (SIZE and TIME lines) followed by its PrintCompilation output. */
    private String probe(int budget) throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Path report = dir.resolve("report-" + budget);
        // -Xbatch: a method waits for its compilation, so tier 4 is reached inside the probe's runs however loaded the
        // machine is (a CI run met C2 still queued when the timed loop ended); the thresholds and size limits are unchanged
        Process p = new ProcessBuilder(java.toString(), "-Xbatch", "-XX:+PrintCompilation", "-cp", System.getProperty("java.class.path"),
                HotSpotCompilationProbe.class.getName(), Integer.toString(budget), report.toString())
                .redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "probe did not finish");
        assertEquals(0, p.exitValue(), new String(out, StandardCharsets.UTF_8));
        return Files.readString(report) + new String(out, StandardCharsets.UTF_8);
    }

    @Test
    void splitMethodsReachC2AndAHugeOneIsNeverCompiled() throws Exception {
        String split = probe(6000);
        List<String> blockMethods = split.lines().filter(l -> l.startsWith("SIZE m")).toList();
        assertTrue(blockMethods.size() >= 2, split);
        for (String m : blockMethods) {
            String[] f = m.split(" ");
            assertTrue(Integer.parseInt(f[2]) < MonitorCompiler.HUGE_METHOD_LIMIT, m);
            String name = f[1].substring(0, f[1].indexOf('('));
            assertTrue(split.lines().anyMatch(l -> l.contains("Monitor$") && l.contains("::" + name + " ")
                    && l.matches("\\s*\\d+\\s+\\d+\\s+[%sbn! ]*4\\s+.*")), name + " never reached tier 4:\n" + split);
        }
        String huge = probe(1_000_000);
        List<String> one = huge.lines().filter(l -> l.startsWith("SIZE m")).toList();
        assertEquals(1, one.size(), huge);
        assertTrue(Integer.parseInt(one.get(0).split(" ")[2]) > MonitorCompiler.HUGE_METHOD_LIMIT, one.get(0));
        assertTrue(huge.lines().noneMatch(l -> l.contains("Monitor$") && l.contains("::m0 ")), "the huge method was compiled:\n" + huge);
        System.out.println("split: " + split.lines().filter(l -> l.startsWith("TIME")).findFirst().orElse("?")
                + "; one huge method: " + huge.lines().filter(l -> l.startsWith("TIME")).findFirst().orElse("?"));
    }
}
