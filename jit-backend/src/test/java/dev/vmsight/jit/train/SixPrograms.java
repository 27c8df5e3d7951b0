package dev.vmsight.jit.train;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.TrainingProgram;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** What the live lab tests of this package start from: the lab of this checkout and the six programs trained as vmsight train does. */
final class SixPrograms {
    private SixPrograms() { }

    /** The lab of the checkout Surefire runs in. */
    static LabLayout lab() {
        String root = System.getProperty("vmsight.root");
        if (root == null) fail("system property vmsight.root is not set (Surefire sets it to the repository root)");
        return LabLayout.at(Path.of(root));
    }

    /** The six programs trained on {@code lab} (default runs and policy), in {@link TrainingProgram} order, each passing its self-check. */
    static List<Training.Trained> trained(LabLayout lab) {
        List<Training.Trained> out = new ArrayList<>();
        for (TrainingProgram p : TrainingProgram.values()) {
            Training.Trained t = Training.train(lab, p, Training.defaultRuns(p), Training.DEFAULT_POLICY);
            assertTrue(t.selfCheck().passed(), p + ": " + t.selfCheck().summary());
            out.add(t);
        }
        return out;
    }
}
