package dev.vmsight.tracer.capture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.tracer.trace.TraceFiles;
import dev.vmsight.tracer.trace.TraceReader;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The shared corpus: produced once (booting a guest), then returned from disk in well under a
 * second; a damaged trace is traced again, and only that run.
 */
@Tag("lab")
class TrainingCorpusLabTest {

    @Test
    @Timeout(300)
    void producedOnceReusedAfterwardsAndRepairedWhenDamaged() throws Exception {
        String root = System.getProperty("vmsight.root");
        if (root == null) fail("system property vmsight.root is not set (Surefire sets it to the repository root)");
        LabLayout lab = LabLayout.at(Path.of(root));

        List<TrainingCorpus.Entry> first = TrainingCorpus.ensure(lab, TrainingProgram.GETPID, 2);
        assertEquals(2, first.size());
        for (TrainingCorpus.Entry e : first) {
            try (TraceReader r = TraceFiles.open(e.trace())) {
                assertTrue(r.summary().fidelity() && r.summary().instructions() > 0, e.trace().toString());
                assertEquals("getpid", r.header().program());
            }
            assertTrue(Files.size(e.snapshot()) > 0, e.snapshot().toString());
        }
        try (TraceReader r = TraceFiles.open(first.get(0).trace())) {
            assertEquals("0", r.header().context().get(Tracer.EARLIER_RUNS), "run 0 is the trainer's first run since its guest booted");
        }
        FileTime run0 = Files.getLastModifiedTime(first.get(0).trace());

        long t0 = System.nanoTime();
        List<TrainingCorpus.Entry> again = TrainingCorpus.ensure(lab, TrainingProgram.GETPID, 2);
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf("corpus: getpid x2 from disk in %.3f s%n", seconds);
        assertEquals(first, again);
        assertTrue(seconds < 2, "an existing corpus is returned without booting: " + seconds + " s");

        // truncate run 1's trace: ensure traces run 1 again, leaves run 0 alone
        try (FileChannel ch = FileChannel.open(first.get(1).trace(), StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() / 2);
        }
        TrainingCorpus.ensure(lab, TrainingProgram.GETPID, 2);
        assertEquals(run0, Files.getLastModifiedTime(first.get(0).trace()), "run 0 was usable and kept");
        try (TraceReader r = TraceFiles.open(first.get(1).trace())) {
            assertTrue(r.summary().fidelity(), "run 1 traced again");
        }
    }
}
