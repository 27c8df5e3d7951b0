package dev.vmsight.jit.run;

import dev.vmsight.merger.MergedProgram;
import dev.vmsight.merger.RunContext;
import dev.vmsight.vmi.Budget;
import dev.vmsight.vmi.paging.AddressSpace;
import dev.vmsight.vmi.profile.KernelProfile;
import dev.vmsight.vmi.profile.TaskListWalker;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * A second oracle for pslist, beside the guest's own view: the hand-written walker of the tasks
 * list ({@link TaskListWalker}, offsets from the kernel's BTF) over the same paused memory the
 * monitor read, at {@code init_task} and through the kernel page tables of the program's run
 * context placed in the guest's boot (KASLR moves both). The guest's view is read before or after
 * the pause, so a process that starts or ends in between blurs it; this one reads the same moment.
 */
public final class TaskListOracle {
    private final TaskListWalker walker;

    public TaskListOracle(KernelProfile profile) {
        this.walker = new TaskListWalker(profile);
    }

    /** The oracle of the kernel whose ELF is {@code vmlinux} (its profile made by pahole, or read from beside it). */
    public static TaskListOracle ofVmlinux(Path vmlinux) {
        return new TaskListOracle(KernelProfile.ofVmlinux(vmlinux));
    }

    /** The thread-group leaders' PIDs in {@code source}'s memory now, ascending (init_task's 0 left out, as /proc does). */
    public List<Long> pids(MergedProgram pslist, GuestSource source, Budget budget) {
        return Arrays.stream(at(pslist, source).pids(budget)).boxed().toList();
    }

    /**
     * The walk placed in {@code source}'s boot once: init_task and the kernel's page tables found
     * through {@code pslist}'s run context, for walking the same memory again (the benchmarks).
     */
    public Walk at(MergedProgram pslist, GuestSource source) {
        ProgramRuns.Placed placed = ProgramRuns.place(pslist, source);
        long initTask = placed.program().runContext().initTask();
        if (initTask == 0) {
            throw new IllegalArgumentException("program " + pslist.name() + " has no run context: where init_task is was not recorded");
        }
        return new Walk(walker, placed.attached(), initTask);
    }

    /** One placed walk; each {@link #pids} is cold (a fresh AddressSpace: a live guest changes between walks). */
    public record Walk(TaskListWalker walker, RunContext.Attached kernel, long initTask) {
        public long[] pids(Budget budget) {
            return walker.pids(AddressSpace.of(kernel.memory(), kernel.vcpu()), initTask, budget.start());
        }
    }
}
