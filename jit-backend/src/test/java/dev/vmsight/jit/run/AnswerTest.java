package dev.vmsight.jit.run;

import static org.junit.jupiter.api.Assertions.*;

import dev.vmsight.merger.MergedProgram.OutputKind;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Decoding an output buffer per output kind, text and JSON, and the outcomes' JSON and exit codes. */
class AnswerTest {

    private static byte[] le(int... v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int x : v) b.putInt(x);
        return b.array();
    }

    @Test
    void pidsTimeStringsAndBases() {
        Answer pids = Answer.decode("pslist", OutputKind.INT32_LIST, le(1, 2, 57, 1234));
        assertEquals(List.of(1L, 2L, 57L, 1234L), pids.numbers());
        assertEquals("1\n2\n57\n1234", pids.toText());
        assertEquals("[1,2,57,1234]", pids.toJsonValue());

        byte[] t = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(1_764_112_345L).array();
        assertEquals("1764112345 (2025-11-25T23:12:25Z)", Answer.decode("gettime", OutputKind.INT64, t).toText());
        assertEquals("1764112345", Answer.decode("getpid", OutputKind.INT64, t).toText());

        Answer s = Answer.decode("getpsfile", OutputKind.STRING, "vm\"sleep\0junk".getBytes());
        assertEquals("vm\"sleep", s.toText());
        assertEquals("\"vm\\\"sleep\"", s.toJsonValue());

        byte[] bases = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0xffffffffc0200000L).array();
        assertEquals("[\"0xffffffffc0200000\"]", Answer.decode("lsmod", OutputKind.UINT64_LIST, bases).toJsonValue());
    }

    @Test
    void truncatedBuffersAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> Answer.decode("pslist", OutputKind.INT32_LIST, new byte[6]));
        assertThrows(IllegalArgumentException.class, () -> Answer.decode("getpid", OutputKind.INT64, new byte[4]));
    }

    @Test
    void outcomesAsJsonWithExitCodes() {
        RunOutcome a = new RunOutcome.Answered(Answer.decode("pslist", OutputKind.INT32_LIST, le(1, 7)), "jit", 12, 34);
        assertEquals("{\"outcome\":\"answer\",\"program\":\"pslist\",\"kind\":\"int32_list\",\"answer\":[1,7],"
                + "\"backend\":\"jit\",\"steps\":12,\"micros\":34}", a.toJson());
        RunOutcome u = new RunOutcome.UnseenPath(0xffffffff81000010L, 3, 0xffffffff81000040L, List.of(0xffffffff81000015L));
        assertEquals(3, u.exitCode());
        assertEquals("{\"outcome\":\"unseen_path\",\"site\":\"0xffffffff81000010\",\"uop\":3,\"observed\":\"0xffffffff81000040\","
                + "\"expected\":[\"0xffffffff81000015\"]}", u.toJson());
        assertEquals(4, new RunOutcome.Failed("MEMORY", 1, "x").exitCode());
        assertEquals(5, new RunOutcome.OverBudget("steps", 10, 1).exitCode());
        assertEquals(0, a.exitCode());
    }
}
