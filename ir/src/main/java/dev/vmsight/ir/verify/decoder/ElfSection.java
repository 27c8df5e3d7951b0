package dev.vmsight.ir.verify.decoder;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One section of a little-endian ELF64 file, read from its section headers.
 *
 * @param name    section name (e.g. .text)
 * @param address virtual address of its first byte (sh_addr)
 * @param bytes   its contents
 */
public record ElfSection(String name, long address, byte[] bytes) {

    /** Reads section {@code name} of {@code elf}; an error names the file and what is wrong with it. */
    public static ElfSection read(Path elf, String name) {
        try (FileChannel ch = FileChannel.open(elf, StandardOpenOption.READ)) {
            if (ch.size() < 64) {
                throw new IllegalArgumentException(elf + " is not an ELF file (only " + ch.size() + " bytes)");
            }
            ByteBuffer eh = read(ch, 0, 64, elf);
            if (eh.getInt(0) != 0x464C457F) {
                throw new IllegalArgumentException(elf + " is not an ELF file (bad magic)");
            }
            if (eh.get(4) != 2 || eh.get(5) != 1) {
                throw new IllegalArgumentException(elf + " is not a little-endian ELF64 file");
            }
            long shoff = eh.getLong(0x28);
            int shentsize = Short.toUnsignedInt(eh.getShort(0x3A));
            int shnum = Short.toUnsignedInt(eh.getShort(0x3C));
            int shstrndx = Short.toUnsignedInt(eh.getShort(0x3E));
            if (shoff == 0 || shnum == 0 || shstrndx >= shnum || shentsize < 64) {
                throw new IllegalArgumentException(elf + " has no usable section header table");
            }
            ByteBuffer sh = read(ch, shoff, (long) shentsize * shnum, elf);
            int strOff = shstrndx * shentsize;
            ByteBuffer names = read(ch, sh.getLong(strOff + 0x18), sh.getLong(strOff + 0x20), elf);
            for (int i = 0; i < shnum; i++) {
                int h = i * shentsize;
                if (name.equals(cString(names, sh.getInt(h)))) {
                    int type = sh.getInt(h + 4);
                    if (type == 8) {
                        throw new IllegalArgumentException(elf + ": section " + name + " has no bytes in the file (NOBITS)");
                    }
                    ByteBuffer data = read(ch, sh.getLong(h + 0x18), sh.getLong(h + 0x20), elf);
                    byte[] bytes = new byte[data.remaining()];
                    data.get(bytes);
                    return new ElfSection(name, sh.getLong(h + 0x10), bytes);
                }
            }
            throw new IllegalArgumentException(elf + " has no section " + name);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read ELF file " + elf + ": " + e.getMessage(), e);
        }
    }

    /** Address one past the last byte. */
    public long end() { return address + bytes.length; }

    private static ByteBuffer read(FileChannel ch, long offset, long length, Path elf) throws IOException {
        if (offset < 0 || length < 0 || length > Integer.MAX_VALUE || offset + length > ch.size()) {
            throw new IllegalArgumentException(elf + " is truncated or corrupt: range 0x" + Long.toHexString(offset)
                    + "+0x" + Long.toHexString(length) + " lies outside the file");
        }
        ByteBuffer b = ByteBuffer.allocate((int) length).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (ch.read(b, offset + b.position()) < 0) {
                throw new IllegalArgumentException(elf + " ended early");
            }
        }
        return b.flip();
    }

    private static String cString(ByteBuffer b, int at) {
        int end = at;
        while (end < b.limit() && b.get(end) != 0) {
            end++;
        }
        byte[] s = new byte[end - at];
        b.get(at, s);
        return new String(s, StandardCharsets.US_ASCII);
    }
}
