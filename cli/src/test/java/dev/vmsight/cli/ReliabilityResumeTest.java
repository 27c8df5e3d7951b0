package dev.vmsight.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.jit.train.LiveSeries;
import dev.vmsight.vmi.Budget;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An interrupted reliability series resumes from its runs.csv: complete boots kept, the cut boot run again. */
class ReliabilityResumeTest {

    private static final LiveSeries.Plan PLAN = new LiveSeries.Plan(4, List.of(10, 300), List.of(1, 2), List.of(0, 5000),
            List.of(LiveSeries.Pause.IDLE, LiveSeries.Pause.USER), List.of(TrainingProgram.GETPID, TrainingProgram.PSLIST),
            Budget.of(1000, Duration.ofSeconds(1)));

    private static LiveSeries.Run run(int boot, LiveSeries.Pause pause, TrainingProgram p, String detail) {
        return new LiveSeries.Run(boot, boot % 2 == 0 ? 10 : 300, boot % 2 == 0 ? 1 : 2, boot % 2 == 0 ? 0 : 5000, pause, "idle", p,
                p == TrainingProgram.GETPID ? null : "7", LiveSeries.Result.CORRECT, detail, 123);
    }

    private static List<String> lines(int completeBoots, int extra) {
        List<String> out = new ArrayList<>(List.of(LiveSeries.CSV_HEADER));
        for (int b = 0; b <= completeBoots; b++) {
            int n = 0;
            for (LiveSeries.Pause pause : PLAN.pauses()) {
                for (TrainingProgram p : PLAN.programs()) {
                    if (b == completeBoots && n++ >= extra) return out;
                    out.add(run(b, pause, p, "guest said \"1, 2\", monitor 1, 2").csv());
                }
            }
        }
        return out;
    }

    @Test
    void csvRoundTrips() {
        LiveSeries.Run r = run(3, LiveSeries.Pause.USER, TrainingProgram.PSLIST, "a, b \"c\"");
        LiveSeries.Run back = LiveSeries.Run.parse(r.csv());
        assertEquals(r.csv(), back.csv());
        assertEquals("a, b 'c'", back.detail());
        assertEquals("7", back.input());
    }

    @Test
    void keepsCompleteBootsAndDropsTheCutOne(@TempDir Path dir) throws Exception {
        Path csv = dir.resolve("runs.csv");
        Files.write(csv, lines(2, 3));
        List<LiveSeries.Run> kept = ReliabilityCommand.completeBoots(csv, PLAN);
        assertEquals(8, kept.size());
        assertEquals(1, kept.get(kept.size() - 1).boot());
        assertTrue(ReliabilityCommand.completeBoots(dir.resolve("none.csv"), PLAN).isEmpty());
    }

    @Test
    void refusesAFileOfAnotherPlan(@TempDir Path dir) throws Exception {
        Path csv = dir.resolve("runs.csv");
        Files.write(csv, lines(2, 0));
        LiveSeries.Plan other = new LiveSeries.Plan(4, List.of(300, 10), PLAN.cpus(), PLAN.pidFloors(), PLAN.pauses(), PLAN.programs(),
                PLAN.budget());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ReliabilityCommand.completeBoots(csv, other));
        assertTrue(e.getMessage().contains("boot 0 ran 10 sleepers"), e.getMessage());
        Files.writeString(csv, LiveSeries.CSV_HEADER + "\n0,10,1,0,idle,idle,getpid,,correct,12\n");
        e = assertThrows(IllegalArgumentException.class, () -> ReliabilityCommand.completeBoots(csv, PLAN));
        assertTrue(e.getMessage().contains("line 2"), e.getMessage());
    }
}
