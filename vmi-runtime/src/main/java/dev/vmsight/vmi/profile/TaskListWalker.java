package dev.vmsight.vmi.profile;

import dev.vmsight.vmi.Budget;
import dev.vmsight.vmi.GuestStructureException;
import dev.vmsight.vmi.paging.LinearMemory;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * pslist written by hand, the way a LibVMI or Volatility tool writes it: follow
 * {@code init_task.tasks} (the list of thread-group leaders) around to its head and read each
 * task's {@code tgid}, with offsets from a {@link KernelProfile}. It is the denominator of the
 * benchmarks' ratios (the fewest reads that answer pslist) and an oracle for the trained monitor:
 * the PIDs /proc lists are these leaders' tgids (a task that has exited but is not yet reaped is
 * on both). Reads only; a list that does not come back to its head within {@link #MAX_TASKS}
 * entries (a cycle planted behind the head, a wild pointer into other memory) ends in a
 * {@link GuestStructureException} naming where it was, and the budget bounds the time.
 */
public final class TaskListWalker {
    /** PID_MAX_LIMIT on 64-bit: no kernel has more thread-group leaders. */
    public static final int MAX_TASKS = 4 * 1024 * 1024;

    /** One thread-group leader: its task_struct address, tgid, pid and comm. */
    public record Task(long address, int tgid, int pid, String comm) { }

    private final long tasksOffset;
    private final long tgidOffset;
    private final long pidOffset;
    private final long commOffset;
    private final long nextOffset;

    public TaskListWalker(KernelProfile profile) {
        this.tasksOffset = profile.offset("task_struct", "tasks");
        this.tgidOffset = profile.offset("task_struct", "tgid");
        this.pidOffset = profile.offset("task_struct", "pid");
        this.commOffset = profile.offset("task_struct", "comm");
        this.nextOffset = profile.offset("list_head", "next");
    }

    /** The tgids of every thread-group leader but the idle task (init_task, PID 0), ascending: what /proc lists. */
    public long[] pids(LinearMemory memory, long initTask, Budget budget) {
        long[] out = new long[256];
        int n = 0;
        long head = initTask + tasksOffset;
        long node = memory.readLong(head + nextOffset);
        while (node != head) {
            if (n == MAX_TASKS) throw notClosing(head, node);
            budget.step();
            if (n == out.length) out = Arrays.copyOf(out, n * 2);
            out[n++] = memory.readInt(node - tasksOffset + tgidOffset);
            node = memory.readLong(node + nextOffset);
        }
        long[] pids = Arrays.copyOf(out, n);
        Arrays.sort(pids);
        return pids;
    }

    /** Every thread-group leader but init_task, in list order, with its pid and comm. */
    public List<Task> tasks(LinearMemory memory, long initTask, Budget budget) {
        List<Task> out = new ArrayList<>();
        long head = initTask + tasksOffset;
        long node = memory.readLong(head + nextOffset);
        byte[] comm = new byte[16];
        while (node != head) {
            if (out.size() == MAX_TASKS) throw notClosing(head, node);
            budget.step();
            long task = node - tasksOffset;
            memory.read(task + commOffset, comm, 0, comm.length);
            int len = 0;
            while (len < comm.length && comm[len] != 0) len++;
            out.add(new Task(task, memory.readInt(task + tgidOffset), memory.readInt(task + pidOffset),
                    new String(comm, 0, len, StandardCharsets.ISO_8859_1)));
            node = memory.readLong(node + nextOffset);
        }
        return out;
    }

    private static GuestStructureException notClosing(long head, long node) {
        return new GuestStructureException(node, "init_task's tasks list (head 0x" + Long.toHexString(head)
                + ") has not come back to its head after " + MAX_TASKS + " entries, more than any kernel's PID_MAX_LIMIT: a cycle behind the head");
    }
}
