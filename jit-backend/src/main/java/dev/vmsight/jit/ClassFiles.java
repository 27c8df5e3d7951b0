package dev.vmsight.jit;

import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads the bytecode length of every method of a class file: the quantity HotSpot compares
 * with HugeMethodLimit (8000 bytes; larger methods are never JIT-compiled). Only the parts of
 * the format needed to reach the Code attributes are parsed (JVMS §4).
 */
final class ClassFiles {
    private ClassFiles() { }

    /** Method name + descriptor → code length in bytes. */
    static Map<String, Integer> codeLengths(byte[] classFile) {
        ByteBuffer b = ByteBuffer.wrap(classFile);
        if (b.getInt() != 0xCAFEBABE) {
            throw new IllegalArgumentException("not a class file (bad magic)");
        }
        b.getShort();
        b.getShort();
        int count = b.getShort() & 0xFFFF;
        String[] utf8 = new String[count];
        for (int i = 1; i < count; i++) {
            int tag = b.get();
            switch (tag) {
                case 1 -> {
                    int len = b.getShort() & 0xFFFF;
                    byte[] s = new byte[len];
                    b.get(s);
                    utf8[i] = new String(s, java.nio.charset.StandardCharsets.UTF_8);
                }
                case 3, 4, 9, 10, 11, 12, 17, 18 -> b.position(b.position() + 4);
                case 5, 6 -> {
                    b.position(b.position() + 8);
                    i++;
                }
                case 7, 8, 16, 19, 20 -> b.position(b.position() + 2);
                case 15 -> b.position(b.position() + 3);
                default -> throw new IllegalArgumentException("constant pool tag " + tag + " at entry " + i);
            }
        }
        b.position(b.position() + 6);
        int interfaces = b.getShort() & 0xFFFF;
        b.position(b.position() + 2 * interfaces);
        int fields = b.getShort() & 0xFFFF;
        for (int f = 0; f < fields; f++) {
            b.position(b.position() + 6);
            skipAttributes(b);
        }
        Map<String, Integer> lengths = new LinkedHashMap<>();
        int methods = b.getShort() & 0xFFFF;
        for (int m = 0; m < methods; m++) {
            b.getShort();
            String name = utf8[b.getShort() & 0xFFFF] + utf8[b.getShort() & 0xFFFF];
            int attrs = b.getShort() & 0xFFFF;
            for (int a = 0; a < attrs; a++) {
                String attr = utf8[b.getShort() & 0xFFFF];
                int len = b.getInt();
                int next = b.position() + len;
                if (attr.equals("Code")) {
                    b.getInt();
                    lengths.put(name, b.getInt());
                }
                b.position(next);
            }
        }
        return lengths;
    }

    private static void skipAttributes(ByteBuffer b) {
        int attrs = b.getShort() & 0xFFFF;
        for (int a = 0; a < attrs; a++) {
            b.getShort();
            int len = b.getInt();
            b.position(b.position() + len);
        }
    }
}
