package dev.vmsight.jit.train;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vmsight.guests.LabLayout;
import dev.vmsight.guests.QemuGuest;
import dev.vmsight.guests.QemuLauncher;
import dev.vmsight.guests.TrainingProgram;
import dev.vmsight.jit.run.Answer;
import dev.vmsight.jit.run.GuestSource;
import dev.vmsight.jit.run.GuestSources;
import dev.vmsight.jit.run.ProgramRuns;
import dev.vmsight.jit.run.RunOutcome;
import dev.vmsight.merger.ReferenceExecutor;
import dev.vmsight.slicer.GuardPolicy;
import dev.vmsight.vmi.Budget;
import dev.vmsight.vmi.paging.AddressSpace;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The cause of the earlier series' {@code step_into} memory errors, on purpose: another dentry
 * ahead of {@code proc} in its dentry-cache bucket. The bucket is found by running pslist with
 * the reference executor and watching {@code __d_lookup_rcu} load the bucket head for its first
 * lookup (the name "proc" under "/"); then files are created in "/" (each a new dentry, added at
 * its bucket's head) until that head changes. A VIRTUOSO program follows the trained compares and
 * takes the other dentry (it read address 0 here); a DATA program must answer as the guest does
 * or refuse at the compare, never answer wrong. How many files it takes depends on the boot
 * (salted hashes), so this is a series experiment (tag "series": README "Monitors outside their
 * training"), not a CI test.
 */
@Tag("lab")
@Tag("series")
class DcacheCollisionSeriesTest {
    /** Where __d_lookup_rcu (6.1.0-56) has loaded the bucket head into rdx, the bucket's address in rax. */
    private static final long BUCKET_LOADED = 0xffffffff81389fa4L;
    private static final int MOST_FILES = 60_000;

    @Test
    @Timeout(1800)
    void anotherDentryAheadOfProcInItsBucket() {
        String root = System.getProperty("vmsight.root");
        if (root == null) fail("system property vmsight.root is not set (Surefire sets it to the repository root)");
        LabLayout lab = LabLayout.at(Path.of(root));
        Training.Trained data = Training.train(lab, TrainingProgram.PSLIST, 4, GuardPolicy.DATA);
        Training.Trained virtuoso = Training.train(lab, TrainingProgram.PSLIST, 4, GuardPolicy.VIRTUOSO);
        try (QemuGuest guest = QemuLauncher.start(lab.defaultConfig("test-dcache", lab.pinnedKernel()).withProcs(20))) {
            long[] bucket = new long[2];
            try (GuestSource s = GuestSources.of(guest, 0)) {
                var att = ProgramRuns.attach(data.program(), s);
                new ReferenceExecutor(data.program()).observe((rip, st) -> {
                    if (rip == BUCKET_LOADED && bucket[0] == 0) {
                        bucket[0] = st.gpr(0);
                        bucket[1] = st.gpr(2);
                    }
                }).run(att.memory(), att.vcpu(), new byte[0], Budget.of(100_000_000, Duration.ofSeconds(60)));
            }
            assertTrue(bucket[0] != 0, "__d_lookup_rcu never loaded a bucket head at 0x" + Long.toHexString(BUCKET_LOADED));
            System.out.printf("proc's bucket 0x%x, head 0x%x%n", bucket[0], bucket[1]);
            for (int made = 0; made < MOST_FILES; made += 2000) {
                guest.exec(Duration.ofSeconds(300), List.of("/bin/sh", "-c", "i=" + made + "; while [ $i -lt " + (made + 2000)
                        + " ]; do : > /crowd-$i; i=$((i+1)); done")).stdoutOrThrow("creating files in /");
                long head;
                try (GuestSource s = GuestSources.of(guest, 0)) {
                    var att = ProgramRuns.attach(data.program(), s);
                    head = AddressSpace.of(att.memory(), att.vcpu()).readLong(bucket[0]);
                }
                if (head == bucket[1]) continue;
                System.out.printf("after %d files, the bucket's head is 0x%x%n", made + 2000, head);
                GuestView view = GuestView.before(guest, TrainingProgram.PSLIST, null);
                RunOutcome d, v;
                try (GuestSource s = GuestSources.of(guest, 0)) {
                    Budget budget = Budget.of(100_000_000, Duration.ofSeconds(30));
                    v = ProgramRuns.runChecked(virtuoso.program(), virtuoso.monitor(), s, null, budget);
                    d = ProgramRuns.runChecked(data.program(), data.monitor(), s, null, budget);
                }
                System.out.println("VIRTUOSO: " + v.toText().lines().findFirst().orElse(""));
                System.out.println("DATA: " + d.toText().lines().findFirst().orElse(""));
                if (d instanceof RunOutcome.Answered a) {
                    GuestView.Verdict verdict = view.after(guest, a.answer());
                    assertTrue(verdict.agrees(), "DATA answered wrong: " + verdict.detail());
                } else {
                    assertTrue(d instanceof RunOutcome.UnseenPath, "DATA neither answered nor refused: " + d.toText());
                }
                return;
            }
            fail("no other dentry came ahead of proc in its bucket within " + MOST_FILES + " files: run the series again");
        }
    }
}
