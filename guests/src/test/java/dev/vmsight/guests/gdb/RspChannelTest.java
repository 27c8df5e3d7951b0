package dev.vmsight.guests.gdb;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Framing per the GDB remote protocol manual ("Overview": checksum, escapes, run-length encoding). */
class RspChannelTest {

    @Test
    void checksumIsTheByteSumModulo256() {
        // The manual's examples: "$g#67" and "$?#3f"; 'm' requests are the sum of their characters.
        assertEquals("$g#67", RspChannel.frame("g"));
        assertEquals("$?#3f", RspChannel.frame("?"));
        int sum = 0;
        for (char c : "m400000,10".toCharArray()) sum += c;
        assertEquals(String.format("$m400000,10#%02x", sum & 0xff), RspChannel.frame("m400000,10"));
    }

    @Test
    void escapesAndRunLengthsAreUndone() {
        // '}' escapes the next byte XOR 0x20: "}\x03" is '#'.
        assertEquals("a#b", RspChannel.decode("a}\u0003b".getBytes(StandardCharsets.ISO_8859_1)));
        // "0* " repeats '0' (' ' - 29 = 3) more times.
        assertEquals("0000", RspChannel.decode("0* ".getBytes(StandardCharsets.ISO_8859_1)));
    }

    @Test
    void stopRepliesAreParsed() {
        StopReply r = StopReply.parse("T05thread:01;");
        assertEquals(StopReply.SIGTRAP, r.signal());
        assertEquals(1, r.thread());
        assertEquals(2, StopReply.parse("S02").signal());
        assertThrows(GdbException.class, () -> StopReply.parse("W00"));
        assertThrows(GdbException.class, () -> StopReply.parse("OK"));
    }
}
