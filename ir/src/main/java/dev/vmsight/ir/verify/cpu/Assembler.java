package dev.vmsight.ir.verify.cpu;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Gets instruction bytes from GNU as: every form goes into its own section of one source file
 * ({@code as --64 -msyntax=intel -mnaked-reg}); the sections are read back from the ELF object.
 */
final class Assembler {
    private Assembler() { }

    static List<byte[]> assemble(List<String> forms, Path workDir) throws IOException, InterruptedException {
        Files.createDirectories(workDir);
        StringBuilder s = new StringBuilder(".intel_syntax noprefix\n");
        for (int i = 0; i < forms.size(); i++) {
            s.append(".section .text.f").append(i).append(",\"ax\",@progbits\n")
                    .append(forms.get(i).replace(";", "\n")).append('\n');
        }
        Path src = workDir.resolve("cpu-corpus.s");
        Path obj = workDir.resolve("cpu-corpus.o");
        Files.writeString(src, s.toString());
        Tools.run(List.of("as", "--64", "-msyntax=intel", "-mnaked-reg", "-o", obj.toString(), src.toString()), 120);
        Map<String, byte[]> sections = sections(Files.readAllBytes(obj), obj);
        List<byte[]> out = new ArrayList<>(forms.size());
        for (int i = 0; i < forms.size(); i++) {
            byte[] b = sections.get(".text.f" + i);
            if (b == null || b.length == 0) {
                throw new IOException("as produced no bytes for form '" + forms.get(i) + "' (" + obj + ")");
            }
            out.add(b);
        }
        return out;
    }

    /** Section name -> contents of an ELF64 little-endian relocatable object. */
    private static Map<String, byte[]> sections(byte[] elf, Path file) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN);
        if (elf.length < 64 || b.getInt(0) != 0x464C457F || elf[4] != 2 || elf[5] != 1) {
            throw new IOException(file + " is not an ELF64 little-endian object");
        }
        long shoff = b.getLong(0x28);
        int shentsize = b.getShort(0x3A) & 0xFFFF;
        int shnum = b.getShort(0x3C) & 0xFFFF;
        int shstrndx = b.getShort(0x3E) & 0xFFFF;
        long strOff = b.getLong((int) (shoff + (long) shstrndx * shentsize + 0x18));
        Map<String, byte[]> out = new HashMap<>();
        for (int i = 0; i < shnum; i++) {
            int h = (int) (shoff + (long) i * shentsize);
            int name = b.getInt(h);
            int type = b.getInt(h + 4);
            long off = b.getLong(h + 0x18);
            long size = b.getLong(h + 0x20);
            if (type != 1) {   // SHT_PROGBITS
                continue;
            }
            int end = (int) strOff + name;
            while (elf[end] != 0) {
                end++;
            }
            String n = new String(elf, (int) strOff + name, end - (int) strOff - name, StandardCharsets.US_ASCII);
            byte[] content = new byte[(int) size];
            System.arraycopy(elf, (int) off, content, 0, (int) size);
            out.put(n, content);
        }
        return out;
    }
}
