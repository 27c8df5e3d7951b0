package dev.vmsight.jit.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmsight.guests.GuestConfig;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.QemuGuest;
import dev.vmsight.guests.QemuLauncher;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.jit.run.GuestSource;
import dev.vmsight.jit.run.GuestSources;
import dev.vmsight.jit.run.KernelCodeCheck;
import dev.vmsight.jit.run.ProgramRuns;
import dev.vmsight.merger.KernelLayout;
import dev.vmsight.vmi.Budget;
import dev.vmsight.vmi.paging.AddressSpace;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Programs trained on nokaslr boots, on KASLR boots (the representative case of README's series
 * {@code vmsight reliability --kaslr}): the kernel found where the guest's own kallsyms says it
 * is, the trained code refused where training had it and accepted where the guest relocated it,
 * and all six programs giving the guest's answer idle and busy in user mode, on 2 vCPUs with 300
 * sleepers and PIDs above 4,096. And the guests a bundle does not fit, refused in one line naming
 * both kernels: another build of the same release (the cloud flavour), and the same kernel on
 * another CPU model (Skylake-Server-v4: return thunks and SMAP sites are accepted as that model's
 * variants, its feature-selected copy routines are not).
 */
@Tag("lab")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 1800)
class KaslrLabTest {

    private LabLayout lab;
    private final List<Training.Trained> trained = new ArrayList<>();

    @BeforeAll
    void train() {
        lab = SixPrograms.lab();
        trained.addAll(SixPrograms.trained(lab));
    }

    private static final Pattern TEXT = Pattern.compile("(?m)^([0-9a-f]{16}) T _text$");

    @Test
    void theKernelIsFoundWhereTheGuestSaysAndTheProgramMovesThere() {
        Training.Trained pslist = trained.get(TrainingProgram.PSLIST.ordinal());
        assertEquals(KernelLayout.NOKASLR, pslist.program().runContext().layout(), "training boots are nokaslr");
        try (QemuGuest guest = QemuLauncher.start(lab.defaultConfig("test-kaslr").withKaslr(true).withProcs(20))) {
            String kallsyms = guest.exec(Duration.ofSeconds(60), List.of("/bin/sh", "-c", "grep ' T _text$' /proc/kallsyms"))
                    .stdoutOrThrow("reading _text");
            Matcher m = TEXT.matcher(kallsyms);
            assertTrue(m.find(), kallsyms);
            long text = Long.parseUnsignedLong(m.group(1), 16);
            assertNotEquals(KernelLayout.NOKASLR.text(), text, "_text is randomised with KASLR (1 chance in ~500 to sit at the default by luck)");
            try (GuestSource s = GuestSources.of(guest, 0)) {
                ProgramRuns.Placed placed = ProgramRuns.place(pslist.program(), s);
                assertEquals(text, placed.found().layout().text(), placed.found().describe());
                assertNotEquals(KernelLayout.NOKASLR.pageOffset(), placed.found().layout().pageOffset(),
                        "KASLR randomises the direct map too: " + placed.found().describe());
                assertNotSame(pslist.program(), placed.program());
                AddressSpace space = AddressSpace.of(placed.attached().memory(), placed.attached().vcpu());
                // the code where training had it is not this guest's; where the guest's kernel relocated it, it is, byte for byte
                assertThrows(KernelCodeCheck.KernelMismatchException.class,
                        () -> KernelCodeCheck.verify(ProgramRuns.kernelCode(pslist.program()), space, s.describe()));
                KernelCodeCheck.Match match = KernelCodeCheck.verify(ProgramRuns.kernelCode(placed.program()), space, s.describe(),
                        placed.program().features());
                assertEquals(pslist.program().instructions().stream().filter(i -> i.address() < 0).count(), match.instructions());
            }
        }
    }

    @Test
    void sixProgramsOnAKaslrBootIdleAndBusy() {
        LiveSeries.Plan plan = new LiveSeries.Plan(1, List.of(300), List.of(2), List.of(5000),
                List.of(LiveSeries.Pause.IDLE, LiveSeries.Pause.USER), List.of(TrainingProgram.values()),
                Budget.of(2_000_000_000L, Duration.ofSeconds(30)), true);
        List<LiveSeries.Run> runs = LiveSeries.run(lab, plan, trained, new LiveSeries.Listener() {
            @Override public void boot(int boot, GuestConfig config, int pidFloor) {
                assertTrue(config.kaslr());
                System.out.printf("KASLR boot %d: %d sleepers, %d vCPUs, PID floor %d%n", boot, config.procs(), config.cpus(), pidFloor);
            }

            @Override public void run(LiveSeries.Run r) {
                System.out.println("  " + r.csv());
            }
        });
        assertEquals(2 * 6, runs.size());
        List<String> bad = runs.stream().filter(r -> r.result() != LiveSeries.Result.CORRECT).map(LiveSeries.Run::csv).toList();
        assertTrue(bad.isEmpty(), "runs that did not give the guest's answer:\n  " + String.join("\n  ", bad));
    }

    @Test
    void aGuestOfAnotherBuildIsRefusedNamingBothKernels() {
        Training.Trained pslist = trained.get(TrainingProgram.PSLIST.ordinal());
        dev.vmsight.guests.KernelPackage pinned = lab.pinnedKernel();
        dev.vmsight.guests.KernelPackage cloud = pinned.withFlavor("cloud-amd64");
        lab.build(cloud);
        try (QemuGuest guest = QemuLauncher.start(lab.defaultConfig("test-cloud", cloud).withKaslr(true));
             GuestSource s = GuestSources.of(guest, 0)) {
            dev.vmsight.guests.GuestException e = assertThrows(dev.vmsight.guests.GuestException.class,
                    () -> dev.vmsight.jit.run.BundleChoice.choose("pslist", List.of(pslist.file()), s));
            assertTrue(e.getMessage().startsWith("no pslist bundle for "), e.getMessage());
            assertTrue(e.getMessage().contains("which runs Linux " + cloud.release() + ";"), e.getMessage());
            assertTrue(e.getMessage().contains("(trained on " + pinned.release() + ", kernel text sha256 "), e.getMessage());
            assertEquals(1, e.getMessage().lines().count(), "one line");
        }
    }

    @Test
    void anotherCpuModelsVariantsAreAcceptedAndItsOtherPathsRefused() {
        Training.Trained pslist = trained.get(TrainingProgram.PSLIST.ordinal());
        try (QemuGuest guest = QemuLauncher.start(lab.defaultConfig("test-skylake").withCpuModel("Skylake-Server-v4"));
             GuestSource s = GuestSources.of(guest, 0)) {
            ProgramRuns.Placed placed = ProgramRuns.place(pslist.program(), s);
            AddressSpace space = AddressSpace.of(placed.attached().memory(), placed.attached().vcpu());
            KernelCodeCheck.Report report = KernelCodeCheck.compare(ProgramRuns.kernelCode(placed.program()), space,
                    placed.program().features(), 1000);
            // the lab kernel on Skylake: ~150 returns through return thunks, stac/clac, prefetchw (measured: 163)
            assertTrue(report.match().equivalentPatches() > 100, report.match().toString());
            // and a few alternatives that take another path (ERMS copy routines): not this program's code
            assertTrue(!report.differences().isEmpty() && report.differences().size() < 20, report.differences().size() + " differences");
            dev.vmsight.guests.GuestException e = assertThrows(dev.vmsight.guests.GuestException.class,
                    () -> dev.vmsight.jit.run.BundleChoice.choose("pslist", List.of(pslist.file()), s));
            assertTrue(e.getMessage().contains("a bundle of the same release does not fit"), e.getMessage());
        }
    }
}
