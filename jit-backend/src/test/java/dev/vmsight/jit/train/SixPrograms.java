package dev.vmsight.jit.train;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.TrainingProgram;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** What the live lab tests of this package start from: the lab of this checkout and the six programs trained as vmsight train does. */
final class SixPrograms {
    private SixPrograms() { }

    /** The lab of the checkout Surefire runs in. */
    static LabLayout lab() {
        String root = System.getProperty("vmsight.root");
        if (root == null) fail("system property vmsight.root is not set (Surefire sets it to the repository root)");
        return LabLayout.at(Path.of(root));
    }

    /** Trainings already done in this JVM (Surefire runs a module's test classes in one): slicing all six takes minutes. */
    private static final Map<String, List<Training.Trained>> DONE = new HashMap<>();

    /**
     * The six programs trained on {@code lab} (default runs and policy), in {@link TrainingProgram}
     * order, each passing its self-check; trained once per lab (root, kernel, CPU model, KASLR) in
     * this JVM, as the corpus on disk is traced once.
     */
    static synchronized List<Training.Trained> trained(LabLayout lab) {
        String key = lab.root().toAbsolutePath() + " " + lab.pinnedKernel() + " " + lab.cpuModel() + " " + lab.kaslr();
        List<Training.Trained> done = DONE.get(key);
        if (done == null) {
            done = List.copyOf(train(lab));
            DONE.put(key, done);
        }
        return done;
    }

    private static List<Training.Trained> train(LabLayout lab) {
        List<Training.Trained> out = new ArrayList<>();
        for (TrainingProgram p : TrainingProgram.values()) {
            Training.Trained t = Training.train(lab, p, Training.defaultRuns(p), Training.DEFAULT_POLICY);
            assertTrue(t.selfCheck().passed(), p + ": " + t.selfCheck().summary());
            out.add(t);
        }
        return out;
    }
}
