package dev.vmsight.slicer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The function symbols of an ELF64 little-endian file's .symtab (name → value), read from the
 * section headers as the ELF specification lays them out. Used to find the training binary's
 * allocator entry points.
 */
final class ElfSymbols {
    private static final int SHT_SYMTAB = 2;
    private static final int STT_FUNC = 2;

    private ElfSymbols() { }

    static Map<String, Long> functions(Path file) {
        byte[] data;
        try {
            data = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new SliceException("cannot read the training binary " + file + ": " + e.getMessage(), e);
        }
        ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        if (data.length < 64 || b.getInt(0) != 0x464C457F || data[4] != 2 || data[5] != 1) {
            throw new SliceException(file + " is not a little-endian ELF64 file");
        }
        try {
            long shoff = b.getLong(0x28);
            int shentsize = Short.toUnsignedInt(b.getShort(0x3A));
            int shnum = Short.toUnsignedInt(b.getShort(0x3C));
            Map<String, Long> out = new HashMap<>();
            for (int i = 0; i < shnum; i++) {
                int sh = Math.toIntExact(shoff + (long) i * shentsize);
                if (b.getInt(sh + 4) != SHT_SYMTAB) {
                    continue;
                }
                int off = Math.toIntExact(b.getLong(sh + 0x18));
                long size = b.getLong(sh + 0x20);
                int link = b.getInt(sh + 0x28);
                long entsize = b.getLong(sh + 0x38);
                int strSh = Math.toIntExact(shoff + (long) link * shentsize);
                int strOff = Math.toIntExact(b.getLong(strSh + 0x18));
                for (long k = 0; k < size / entsize; k++) {
                    int sym = Math.toIntExact(off + k * entsize);
                    int info = data[sym + 4] & 0xFF;
                    long value = b.getLong(sym + 8);
                    if ((info & 0xF) == STT_FUNC && value != 0) {
                        out.putIfAbsent(cString(data, strOff + b.getInt(sym)), value);
                    }
                }
            }
            return out;
        } catch (IndexOutOfBoundsException | ArithmeticException e) {
            throw new SliceException(file + ": damaged ELF section or symbol table (" + e.getMessage() + ")", e);
        }
    }

    private static String cString(byte[] data, int at) {
        int end = at;
        while (data[end] != 0) {
            end++;
        }
        return new String(data, at, end - at, java.nio.charset.StandardCharsets.ISO_8859_1);
    }
}
