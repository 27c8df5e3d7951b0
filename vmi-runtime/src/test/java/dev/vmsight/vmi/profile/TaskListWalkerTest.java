package dev.vmsight.vmi.profile;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vmsight.vmi.Budget;
import dev.vmsight.vmi.BudgetExceededException;
import dev.vmsight.vmi.GuestMemoryException;
import dev.vmsight.vmi.GuestStructureException;
import dev.vmsight.vmi.paging.LinearMemory;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class TaskListWalkerTest {
    static final long BASE = 0xffff888000000000L;
    static final int STRIDE = 0x2800;

    KernelProfile profile;
    TaskListWalker walker;
    ArrayMemory memory;
    long tasks, tgid, pid, comm;

    @BeforeEach
    void setUp() throws IOException {
        profile = KernelProfile.parsePahole("6.1.0-56", KernelProfileTest.paholeOutput());
        walker = new TaskListWalker(profile);
        tasks = profile.offset("task_struct", "tasks");
        tgid = profile.offset("task_struct", "tgid");
        pid = profile.offset("task_struct", "pid");
        comm = profile.offset("task_struct", "comm");
        memory = new ArrayMemory(BASE, 64 * STRIDE);
    }

    long task(int i) { return BASE + (long) i * STRIDE; }

    /** init_task at slot 0, then leaders in list order with the given tgids (PID = tgid), linked both ways. */
    void link(int... tgids) {
        for (int i = 0; i <= tgids.length; i++) {
            long t = task(i);
            long next = task((i + 1) % (tgids.length + 1));
            memory.putLong(t + tasks, next + tasks);
            if (i > 0) {
                memory.putInt(t + tgid, tgids[i - 1]);
                memory.putInt(t + pid, tgids[i - 1]);
                memory.put(t + comm, ("task" + tgids[i - 1]).getBytes(StandardCharsets.US_ASCII));
            }
        }
    }

    static Budget budget() { return Budget.of(1_000_000, Duration.ofSeconds(10)); }

    @Test
    void listsEveryLeaderButInitTaskAscending() {
        link(1, 2, 300, 17, 5000);
        assertArrayEquals(new long[] {1, 2, 17, 300, 5000}, walker.pids(memory, task(0), budget()));
        List<TaskListWalker.Task> t = walker.tasks(memory, task(0), budget());
        assertEquals(5, t.size());
        assertEquals(new TaskListWalker.Task(task(4), 17, 17, "task17"), t.get(3));
    }

    @Test
    void anEmptyListIsNoProcess() {
        link();
        assertArrayEquals(new long[0], walker.pids(memory, task(0), budget()));
    }

    @Test
    void aCycleBehindTheHeadEndsInTheBudget() {
        link(1, 2, 3);
        memory.putLong(task(3) + tasks, task(1) + tasks);    // 3 -> 1: never back to init_task
        assertThrows(BudgetExceededException.class, () -> walker.pids(memory, task(0), budget()));
    }

    @Test
    void aCycleBehindTheHeadIsNamedWhenTheBudgetAllowsMoreThanAnyKernel() {
        link(1, 2, 3);
        memory.putLong(task(3) + tasks, task(1) + tasks);
        var e = assertThrows(GuestStructureException.class,
                () -> walker.pids(memory, task(0), Budget.of(Long.MAX_VALUE, Duration.ofMinutes(5))));
        assertTrue(e.getMessage().contains("has not come back to its head"), e.getMessage());
    }

    @Test
    void aWildPointerIsAMemoryErrorAtItsAddress() {
        link(1, 2, 3);
        memory.putLong(task(2) + tasks, 0xdead000000000100L);
        var e = assertThrows(GuestMemoryException.class, () -> walker.pids(memory, task(0), budget()));
        assertEquals(0xdead000000000100L - tasks + tgid, e.linearAddress());
    }

    /** Linear memory in one array at {@code base}; anything else is not present. Writes are the test's own. */
    static final class ArrayMemory implements LinearMemory {
        final long base;
        final ByteBuffer bytes;

        ArrayMemory(long base, int size) {
            this.base = base;
            this.bytes = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        }

        int index(long va, int len) {
            long off = va - base;
            if (off < 0 || off + len > bytes.capacity()) {
                throw new GuestMemoryException(GuestMemoryException.Kind.NOT_PRESENT, va, -1, 0, "outside the test's memory");
            }
            return (int) off;
        }

        void putLong(long va, long v) { bytes.putLong(index(va, 8), v); }

        void putInt(long va, int v) { bytes.putInt(index(va, 4), v); }

        void put(long va, byte[] b) { bytes.put(index(va, b.length), b); }

        @Override public long read(long va, int size) {
            int i = index(va, size);
            return switch (size) {
                case 1 -> bytes.get(i) & 0xffL;
                case 2 -> bytes.getShort(i) & 0xffffL;
                case 4 -> bytes.getInt(i) & 0xffffffffL;
                default -> bytes.getLong(i);
            };
        }

        @Override public void read(long va, byte[] dst, int off, int len) { bytes.get(index(va, len), dst, off, len); }

        @Override public void write(long va, int size, long value) { throw new UnsupportedOperationException(); }

        @Override public void write(long va, byte[] src, int off, int len) { throw new UnsupportedOperationException(); }
    }
}
