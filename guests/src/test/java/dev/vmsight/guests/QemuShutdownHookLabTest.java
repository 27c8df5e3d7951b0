package dev.vmsight.guests;

import static org.junit.jupiter.api.Assertions.*;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A JVM that started a guest and ends without closing it (it exits, or is killed with SIGTERM
 * mid-boot) leaves no QEMU behind: its shutdown hook kills QEMU by PID.
 */
@Tag("lab")
@Timeout(value = 180)
class QemuShutdownHookLabTest {

    private static Process childJvm(String name, ProcessBuilder.Redirect output) throws IOException {
        QemuLab.config("hook", 1); // builds the image if needed, fails clearly if the lab is missing
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), BootInChildJvm.class.getName(),
                QemuLab.layout().root().toString(), name)
                .redirectErrorStream(true).redirectOutput(output).start();
    }

    private static void assertDead(long qemuPid, String name) throws Exception {
        ProcessHandle.of(qemuPid).ifPresent(h -> {
            try {
                h.onExit().get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                // the assertion below reports it
            }
        });
        boolean alive = ProcessHandle.of(qemuPid).map(ProcessHandle::isAlive).orElse(false);
        if (alive) ProcessHandle.of(qemuPid).ifPresent(ProcessHandle::destroyForcibly); // don't leak it from a failing test
        assertFalse(alive, "QEMU PID " + qemuPid + " outlived the JVM that started it");
        assertFalse(Files.exists(Path.of("/dev/shm/vmsight-" + name + ".ram")), "RAM file left behind");
    }

    @Test
    void exitWithoutCloseStopsQemu() throws Exception {
        Process child = childJvm("test-hook-exit", ProcessBuilder.Redirect.PIPE);
        List<String> output;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream()))) {
            output = r.lines().toList();
        }
        assertTrue(child.waitFor(120, TimeUnit.SECONDS), "the child JVM exits");
        String ready = output.stream().filter(l -> l.startsWith("ready ")).findFirst()
                .orElseThrow(() -> new AssertionError("child JVM did not boot: " + String.join("\n", output)));
        assertDead(Long.parseLong(ready.substring("ready ".length())), "test-hook-exit");
    }

    @Test
    void sigtermMidBootStopsQemu() throws Exception {
        String name = "test-hook-term";
        Path pidFile = QemuLab.layout().runDir(name).resolve("qemu.pid");
        Files.deleteIfExists(pidFile);
        Process child = childJvm(name, ProcessBuilder.Redirect.DISCARD);
        long qemuPid = -1;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (qemuPid < 0 && System.nanoTime() < deadline) {
            if (Files.exists(pidFile)) {
                String text = Files.readString(pidFile).strip();
                if (!text.isEmpty()) qemuPid = Long.parseLong(text);
            }
            Thread.sleep(20);
        }
        assertTrue(qemuPid > 0, "QEMU wrote its pid file " + pidFile);
        assertTrue(ProcessHandle.of(qemuPid).map(ProcessHandle::isAlive).orElse(false), "QEMU is booting");
        child.destroy(); // SIGTERM: the JVM runs its shutdown hooks
        assertTrue(child.waitFor(30, TimeUnit.SECONDS), "the child JVM ends on SIGTERM");
        assertDead(qemuPid, name);
    }
}
