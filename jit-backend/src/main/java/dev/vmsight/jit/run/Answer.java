package dev.vmsight.jit.run;

import dev.vmsight.merger.MergedProgram.OutputKind;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * A monitor's answer: the bytes of its output buffer at END, decoded as the program's output spec
 * says (pslist: int32 PIDs, getpid / gettime: one int64, lsmod: uint64 bases, getpsfile: a
 * string). gettime's int64 is seconds since the epoch and is also shown as a UTC time.
 */
public record Answer(String program, OutputKind kind, List<Long> numbers, String text) {

    public Answer {
        numbers = List.copyOf(numbers);
    }

    /** Decodes {@code buffer} (the rsi bytes at rdi when END was reached). */
    public static Answer decode(String program, OutputKind kind, byte[] buffer) {
        ByteBuffer b = ByteBuffer.wrap(buffer).order(ByteOrder.LITTLE_ENDIAN);
        List<Long> values = new ArrayList<>();
        switch (kind) {
            case INT32_LIST -> {
                requireMultiple(buffer, 4, kind);
                while (b.remaining() >= 4) values.add((long) b.getInt());
            }
            case INT64 -> {
                if (buffer.length != 8) throw new IllegalArgumentException("output of " + program + " is " + buffer.length
                        + " bytes, not the 8 of one int64");
                values.add(b.getLong());
            }
            case UINT64_LIST -> {
                requireMultiple(buffer, 8, kind);
                while (b.remaining() >= 8) values.add(b.getLong());
            }
            case STRING -> {
                int n = 0;
                while (n < buffer.length && buffer[n] != 0) n++;
                return new Answer(program, kind, List.of(), new String(buffer, 0, n, StandardCharsets.UTF_8));
            }
        }
        return new Answer(program, kind, values, null);
    }

    private static void requireMultiple(byte[] buffer, int size, OutputKind kind) {
        if (buffer.length % size != 0) {
            throw new IllegalArgumentException("output of " + buffer.length + " bytes is not a whole " + kind + " (" + size + "-byte items)");
        }
    }

    /** Human text: one value per line for lists, the value (and UTC time for gettime) otherwise. */
    public String toText() {
        return switch (kind) {
            case STRING -> text;
            case INT64 -> program.equals("gettime")
                    ? numbers.get(0) + " (" + Instant.ofEpochSecond(numbers.get(0)) + ")"
                    : Long.toString(numbers.get(0));
            case INT32_LIST -> String.join("\n", numbers.stream().map(String::valueOf).toList());
            case UINT64_LIST -> String.join("\n", numbers.stream().map(v -> "0x" + Long.toHexString(v)).toList());
        };
    }

    /** The JSON value of the answer: a number, a string, or an array (uint64 as hex strings). */
    public String toJsonValue() {
        return switch (kind) {
            case STRING -> Json.string(text);
            case INT64 -> Long.toString(numbers.get(0));
            case INT32_LIST -> "[" + String.join(",", numbers.stream().map(String::valueOf).toList()) + "]";
            case UINT64_LIST -> "[" + String.join(",", numbers.stream().map(v -> Json.string("0x" + Long.toHexString(v))).toList()) + "]";
        };
    }
}
