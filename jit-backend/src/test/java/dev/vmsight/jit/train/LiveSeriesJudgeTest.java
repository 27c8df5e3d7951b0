package dev.vmsight.jit.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vmsight.guests.TrainingProgram;
import org.junit.jupiter.api.Test;

class LiveSeriesJudgeTest {
    static final String DIFFERS = "the tasks list (3 leaders) differs: answered but not on the list [7], on the list but not answered []";

    @Test
    void aPslistAnswerBothOraclesAgreeWithIsCorrectAndSaysSo() {
        assertEquals(new LiveSeries.Verdict(LiveSeries.Result.CORRECT, "view; the tasks list agrees"),
                LiveSeries.judge(TrainingProgram.PSLIST, true, "view", null));
    }

    @Test
    void theTasksListAloneDisagreeingIsItsOwnFailure() {
        assertEquals(new LiveSeries.Verdict(LiveSeries.Result.TASKS_LIST_DIFFERS, "view; " + DIFFERS),
                LiveSeries.judge(TrainingProgram.PSLIST, true, "view", DIFFERS));
    }

    @Test
    void aWrongAnswerNamesWhatTheTasksListSaidNotThatItAgreed() {
        assertEquals(new LiveSeries.Verdict(LiveSeries.Result.WRONG, "view; " + DIFFERS),
                LiveSeries.judge(TrainingProgram.PSLIST, false, "view", DIFFERS));
        assertEquals(new LiveSeries.Verdict(LiveSeries.Result.WRONG, "view; the tasks list agrees"),
                LiveSeries.judge(TrainingProgram.PSLIST, false, "view", null));
    }

    @Test
    void otherProgramsHaveNoTasksListWord() {
        assertEquals(new LiveSeries.Verdict(LiveSeries.Result.CORRECT, "view"), LiveSeries.judge(TrainingProgram.LSMOD, true, "view", null));
    }
}
