package dev.vmsight.jit.run;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vmsight.merger.MergedProgram;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bundle names: which files are a program's candidates, in which order, and the CPU model a name says. */
class BundleChoiceTest {

    @TempDir
    Path dir;

    @Test
    void candidatesAreTheProgramsBundlesDataFirstMoreRunsFirst() throws Exception {
        for (String f : List.of("pslist-virtuoso-4.vmprog", "pslist-data-3.vmprog", "pslist-data-4.6.12.118+deb12-amd64.vmprog",
                "pslist-data-4.6.1.0-56-amd64.Skylake-Server-v4.vmprog", "getpid-data-4.vmprog", "pslist-data-4.vmprog.tmp", "notes.txt")) {
            Files.writeString(dir.resolve(f), "");
        }
        assertEquals(List.of("pslist-data-4.6.1.0-56-amd64.Skylake-Server-v4.vmprog", "pslist-data-4.6.12.118+deb12-amd64.vmprog",
                        "pslist-data-3.vmprog", "pslist-virtuoso-4.vmprog"),
                BundleChoice.candidates(dir, "pslist").stream().map(p -> p.getFileName().toString()).toList());
    }

    @Test
    void theModelIsNamedAfterTheRelease() {
        MergedProgram p = ProgramRunsTest.programForTests(MergedProgram.ControlRole.GUARD);   // kernel release "test"
        assertEquals("Skylake-Server-v4", BundleChoice.cpuModel(Path.of("pslist-data-4.test.Skylake-Server-v4.vmprog"), p));
        assertEquals("qemu64", BundleChoice.cpuModel(Path.of("pslist-data-4.test.vmprog"), p));
        assertEquals("qemu64", BundleChoice.cpuModel(Path.of("pslist-data-4.vmprog"), p));
        assertEquals("qemu64", BundleChoice.cpuModel(Path.of("pslist-data-4.test.kaslr.vmprog"), p));
        assertEquals("Skylake-Server-v4", BundleChoice.cpuModel(Path.of("pslist-data-4.test.Skylake-Server-v4.kaslr.vmprog"), p));
    }

    @Test
    void theTrainCommandNamesTheGuestsPackage() {
        assertEquals("vmsight train pslist --kernel linux-image-6.1.0-56-cloud-amd64", BundleChoice.trainCommand("pslist", "6.1.0-56-cloud-amd64"));
        assertEquals("vmsight train lsmod --kernel PACKAGE (the guest's Debian kernel image package)", BundleChoice.trainCommand("lsmod", null));
    }
}
