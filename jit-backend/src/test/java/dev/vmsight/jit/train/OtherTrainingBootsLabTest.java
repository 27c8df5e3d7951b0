package dev.vmsight.jit.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmsight.guests.GuestConfig;
import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.merger.KernelLayout;
import dev.vmsight.slicer.GuardPolicy;
import dev.vmsight.vmi.Budget;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Training where users' guests run, not only on the lab's default boot (the representative cases
 * of {@code vmsight train --kaslr} and {@code --cpu MODEL}): pslist trained on a KASLR boot, with
 * that boot's layout, answering as the guest does on a nokaslr boot and on another KASLR boot;
 * gettime trained on Skylake-Server-v4 (protection keys, page-table isolation, its own
 * alternatives) answering on a guest of that model.
 */
@Tag("lab")
@Timeout(value = 1800)
class OtherTrainingBootsLabTest {

    private static final Budget BUDGET = Budget.of(2_000_000_000L, Duration.ofSeconds(30));

    private static List<LiveSeries.Run> live(LabLayout lab, Training.Trained t, TrainingProgram p, boolean kaslr, String model) {
        List<LiveSeries.Run> runs = new ArrayList<>();
        LiveSeries.Plan plan = new LiveSeries.Plan(1, List.of(100), List.of(1), List.of(0), List.of(LiveSeries.Pause.IDLE),
                List.of(p), BUDGET, kaslr, model);
        runs.addAll(LiveSeries.run(lab, plan, List.of(t), new LiveSeries.Listener() {
            @Override public void boot(int boot, GuestConfig config, int pidFloor) { }

            @Override public void run(LiveSeries.Run r) {
                System.out.println("  " + (kaslr ? "KASLR " : "nokaslr ") + model + ": " + r.csv());
            }
        }));
        return runs;
    }

    private static void allCorrect(List<LiveSeries.Run> runs) {
        assertTrue(!runs.isEmpty(), "no live run");
        List<String> bad = runs.stream().filter(r -> r.result() != LiveSeries.Result.CORRECT).map(LiveSeries.Run::csv).toList();
        assertTrue(bad.isEmpty(), "runs that did not give the guest's answer:\n  " + String.join("\n  ", bad));
    }

    @Test
    void pslistTrainedOnAKaslrBootAnswersOnOtherBoots() {
        LabLayout lab = SixPrograms.lab().withKaslr(true);
        Training.Trained t = Training.train(lab, TrainingProgram.PSLIST, 4, GuardPolicy.DATA, Training.Progress.NONE);
        assertTrue(t.selfCheck().passed(), t.selfCheck().summary());
        KernelLayout layout = t.program().runContext().layout();
        assertNotEquals(KernelLayout.NOKASLR.text(), layout.text(), "trained on a KASLR boot: " + layout);
        assertTrue(t.file().getFileName().toString().endsWith(".kaslr.vmprog"), t.file().toString());
        allCorrect(live(lab, t, TrainingProgram.PSLIST, false, GuestConfig.DEFAULT_CPU_MODEL));
        allCorrect(live(lab, t, TrainingProgram.PSLIST, true, GuestConfig.DEFAULT_CPU_MODEL));
    }

    @Test
    void gettimeTrainedOnSkylakeAnswersOnSkylake() {
        String model = "Skylake-Server-v4";
        LabLayout lab = SixPrograms.lab().withCpuModel(model);
        Training.Trained t = Training.train(lab, TrainingProgram.GETTIME, 4, GuardPolicy.DATA, Training.Progress.NONE);
        assertTrue(t.selfCheck().passed(), t.selfCheck().summary());
        assertEquals("gettime-data-4." + lab.pinnedKernel().release() + "." + model + ".vmprog", t.file().getFileName().toString());
        allCorrect(live(lab, t, TrainingProgram.GETTIME, false, model));
    }
}
