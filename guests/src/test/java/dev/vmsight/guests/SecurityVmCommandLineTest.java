package dev.vmsight.guests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The QEMU command lines of a watchable lab guest and of a security VM watching two of them. */
class SecurityVmCommandLineTest {
    private static final Path RUN = Path.of("/tmp/vmsight-test-run");

    private static GuestConfig config(String name) {
        return new GuestConfig(name, Path.of("/k/vmlinuz"), Path.of("/k/initrd"), 1024, 2, true, 0, RUN.resolve(name));
    }

    private static WatchChannels watched(String name, long bytes) {
        return new WatchChannels(name, Path.of("/dev/shm/vmsight-" + name + ".ram"), bytes, RUN.resolve(name).resolve("qmp-watch.sock"),
                RUN.resolve(name).resolve("qga-watch.sock"));
    }

    @Test
    void everyLabGuestHasASecondQmpMonitorForAWatcher() {
        RunFiles files = new RunFiles(RUN.resolve("lab"), "lab");
        String cmd = String.join(" ", QemuLauncher.commandLine(config("lab"), files));
        assertTrue(cmd.contains("-chardev socket,id=vmsight-qmp-watch,path=" + files.qmpWatch() + ",server=on,wait=off"), cmd);
        assertTrue(cmd.contains("-mon chardev=vmsight-qmp-watch,mode=control"), cmd);
        assertTrue(cmd.contains("-qmp unix:" + files.qmp() + ","), "the host's own QMP stays: " + cmd);
    }

    @Test
    void eachWatchedGuestIsAReadOnlyIvshmemDeviceAndTwoPortsInSlotOrder() {
        RunFiles files = new RunFiles(RUN.resolve("secvm"), "secvm");
        List<String> cmd = QemuLauncher.securityVmCommandLine(config("secvm"), files,
                List.of(watched("a", 256L << 20), watched("b", 1L << 30)), RUN.resolve("alerts.jsonl"), RUN.resolve("cycles.jsonl"));
        String line = String.join(" ", cmd);
        assertTrue(line.contains("memory-backend-file,id=vmsight-watch0,size=268435456,mem-path=/dev/shm/vmsight-a.ram,share=on,readonly=on"), line);
        assertTrue(line.contains("ivshmem-plain,memdev=vmsight-watch0,addr=0x10"), line);
        assertTrue(line.contains("memory-backend-file,id=vmsight-watch1,size=1073741824,mem-path=/dev/shm/vmsight-b.ram,share=on,readonly=on"), line);
        assertTrue(line.contains("ivshmem-plain,memdev=vmsight-watch1,addr=0x11"), line);
        assertEquals("0000:00:10.0", QemuLauncher.ivshmemAddress(0));
        assertEquals("0000:00:11.0", QemuLauncher.ivshmemAddress(1));
        assertTrue(line.contains("socket,id=vmsight-watch0-qmp,path=" + RUN.resolve("a/qmp-watch.sock") + " "), line);
        assertTrue(!line.contains("reconnect"), "a watched guest's QEMU that exits is gone for good (its RAM file with it): " + line);
        assertTrue(line.contains("virtserialport,chardev=vmsight-watch0-qmp,name=vmsight.a.qmp"), line);
        assertTrue(line.contains("virtserialport,chardev=vmsight-watch1-qga,name=vmsight.b.qga"), line);
        assertTrue(line.contains("file,id=vmsight-alerts,path=" + RUN.resolve("alerts.jsonl") + ",append=on"), line);
        assertTrue(line.contains("virtserialport,chardev=vmsight-cycles,name=vmsight.cycles"), line);
        assertTrue(!line.contains("-gdb") && !line.contains("guest_agent"), "no gdbstub or guest agent in the security VM: " + line);
        assertTrue(!line.contains("memory-backend=vmsight-ram"), "the VM's own RAM is not shared: " + line);
    }

    @Test
    void aRamSizeThatIsNoPowerOfTwoOrAbove2GiBIsRefusedNamingTheGuest() {
        RunFiles files = new RunFiles(RUN.resolve("secvm"), "secvm");
        GuestException e = assertThrows(GuestException.class, () -> QemuLauncher.securityVmCommandLine(config("secvm"), files,
                List.of(watched("odd", 384L << 20)), RUN.resolve("a"), RUN.resolve("c")));
        assertTrue(e.getMessage().contains("'odd'") && e.getMessage().contains("power of two"), e.getMessage());
        e = assertThrows(GuestException.class, () -> QemuLauncher.securityVmCommandLine(config("secvm"), files,
                List.of(watched("big", 4L << 30)), RUN.resolve("a"), RUN.resolve("c")));
        assertTrue(e.getMessage().contains("'big'") && e.getMessage().contains("4096 MiB") && e.getMessage().contains("PCI hole"), e.getMessage());
    }
}
