package dev.vmsight.vmi.phys;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads a little-endian ELF64 core. Guest memory: one segment per PT_LOAD (p_paddr, p_offset,
 * p_filesz), bisected by {@link MemoryMap}; a paging core's second copies of a physical page (one
 * PT_LOAD per virtual mapping) are read from the first ({@link MemoryMap#ofCopies}). vCPUs: NT_PRSTATUS notes (name "CORE") and QEMU's
 * own notes (name "QEMU", type 0), paired in order. Layouts follow the Linux x86-64
 * {@code elf_prstatus} and QEMU's {@code QEMUCPUState} (target/i386/arch_dump.c), read for meaning.
 */
final class ElfCoreMemory implements ElfCore {
    private static final int PT_LOAD = 1, PT_NOTE = 4, PN_XNUM = 0xffff, NT_PRSTATUS = 1, NT_QEMU = 0;

    /** user_regs_struct order inside elf_prstatus.pr_reg (x86-64). */
    private static final String[] PRSTATUS_REGS = {
        "r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9", "r8", "rax", "rcx", "rdx",
        "rsi", "rdi", "orig_rax", "rip", "cs", "rflags", "rsp", "ss", "fs_base", "gs_base", "ds",
        "es", "fs", "gs"};
    /** Offset of pr_reg in the x86-64 elf_prstatus (siginfo 12, cursig+pad 4, sigpend/hold 16, ids 16, times 64). */
    private static final int PRSTATUS_REG_OFFSET = 112;

    /** QEMUCPUState: version, size, then these 64-bit registers from offset 8. */
    private static final String[] QEMU_GPRS = {
        "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp", "r8", "r9", "r10", "r11", "r12",
        "r13", "r14", "r15", "rip", "rflags"};
    /** Then ten QEMUCPUSegment {u32 selector, limit, flags, pad; u64 base}, 24 bytes each. */
    private static final String[] QEMU_SEGMENTS = {"cs", "ds", "es", "fs", "gs", "ss", "ldt", "tr", "gdt", "idt"};
    private static final int QEMU_SEGMENT_OFFSET = 8 + 8 * 18, QEMU_SEGMENT_SIZE = 24;
    private static final int QEMU_CR_OFFSET = QEMU_SEGMENT_OFFSET + QEMU_SEGMENT_SIZE * 10; // cr[5]
    private static final int QEMU_KERNEL_GS_OFFSET = QEMU_CR_OFFSET + 8 * 5;

    private final MappedFile file;
    private final MemoryMap map;
    private final List<CoreCpuState> cpus;
    private final String description;
    private final Set<String> noteNames;

    private ElfCoreMemory(MappedFile file, MemoryMap map, List<CoreCpuState> cpus, Set<String> noteNames) {
        this.file = file;
        this.map = map;
        this.cpus = List.copyOf(cpus);
        this.noteNames = Collections.unmodifiableSet(new LinkedHashSet<>(noteNames));
        this.description = "ELF core " + file.path();
    }

    static ElfCoreMemory open(MappedFile file) {
        try {
            return parse(file);
        } catch (RuntimeException e) {
            file.close();
            throw e;
        }
    }

    private static ElfCoreMemory parse(MappedFile file) {
        String what = "ELF core " + file.path();
        ByteBuffer eh = bytes(file, 0, 64, what, "ELF header");
        if (eh.getInt(0) != 0x464c457f) throw new IllegalArgumentException(what + " is not an ELF file (no \\x7fELF magic)");
        if (eh.get(4) != 2 || eh.get(5) != 1) {
            throw new IllegalArgumentException(what + " is not a little-endian ELF64 file (class " + eh.get(4) + ", data " + eh.get(5) + ")");
        }
        if (Short.toUnsignedInt(eh.getShort(16)) != 4) {
            throw new IllegalArgumentException(what + " is not a core file (e_type " + eh.getShort(16) + ")");
        }
        long phoff = eh.getLong(0x20);
        long shoff = eh.getLong(0x28);
        int phentsize = Short.toUnsignedInt(eh.getShort(0x36));
        int phnum = Short.toUnsignedInt(eh.getShort(0x38));
        if (phnum == PN_XNUM) {
            // Too many segments for e_phnum: the real count is sh_info of section header 0.
            phnum = bytes(file, shoff, 64, what, "section header 0").getInt(0x2c);
        }
        if (phentsize < 56) throw new IllegalArgumentException(what + ": program header size " + phentsize + " < 56");

        List<MemoryMap.Segment> segments = new ArrayList<>();
        List<Map<String, Long>> prstatus = new ArrayList<>();
        List<Map<String, Long>> qemu = new ArrayList<>();
        Set<String> names = new LinkedHashSet<>();
        for (int i = 0; i < phnum; i++) {
            ByteBuffer ph = bytes(file, phoff + (long) i * phentsize, 56, what, "program header " + i);
            int type = ph.getInt(0);
            long offset = ph.getLong(8), paddr = ph.getLong(24), filesz = ph.getLong(32);
            if (type == PT_LOAD && filesz > 0) {
                if (offset + filesz > file.length()) {
                    throw new IllegalArgumentException(what + ": PT_LOAD for guest-physical 0x" + Long.toHexString(paddr)
                            + " ends at file offset 0x" + Long.toHexString(offset + filesz) + ", past the end (0x"
                            + Long.toHexString(file.length()) + "): truncated dump?");
                }
                segments.add(new MemoryMap.Segment(paddr, filesz, offset));
            } else if (type == PT_NOTE) {
                if (filesz > (1 << 24)) throw new IllegalArgumentException(what + ": PT_NOTE of " + filesz + " bytes");
                readNotes(bytes(file, offset, (int) filesz, what, "PT_NOTE"), prstatus, qemu, names);
            }
        }
        List<CoreCpuState> cpus = new ArrayList<>();
        for (int i = 0; i < Math.max(prstatus.size(), qemu.size()); i++) {
            Map<String, Long> regs = new HashMap<>();
            if (i < prstatus.size()) regs.putAll(prstatus.get(i));
            if (i < qemu.size()) regs.putAll(qemu.get(i)); // QEMU's note is the fuller one
            cpus.add(new CoreCpuState(i, regs));
        }
        return new ElfCoreMemory(file, MemoryMap.ofCopies(segments), cpus, names);   // a paging core maps some pages twice
    }

    private static void readNotes(ByteBuffer notes, List<Map<String, Long>> prstatus, List<Map<String, Long>> qemu,
                                  Set<String> names) {
        int at = 0;
        while (at + 12 <= notes.limit()) {
            int namesz = notes.getInt(at), descsz = notes.getInt(at + 4), type = notes.getInt(at + 8);
            int nameAt = at + 12;
            int descAt = nameAt + align4(namesz);
            if (namesz < 0 || descsz < 0 || descAt + descsz > notes.limit()) break; // malformed tail: stop
            String name = new String(bytesOf(notes, nameAt, Math.max(0, namesz - 1)), StandardCharsets.US_ASCII);
            ByteBuffer desc = notes.slice(descAt, descsz).order(ByteOrder.LITTLE_ENDIAN);
            names.add(name);
            if (name.equals("CORE") && type == NT_PRSTATUS && descsz >= PRSTATUS_REG_OFFSET + 8 * PRSTATUS_REGS.length) {
                Map<String, Long> regs = new HashMap<>();
                for (int r = 0; r < PRSTATUS_REGS.length; r++) regs.put(PRSTATUS_REGS[r], desc.getLong(PRSTATUS_REG_OFFSET + 8 * r));
                prstatus.add(regs);
            } else if (name.equals("QEMU") && type == NT_QEMU && descsz >= QEMU_KERNEL_GS_OFFSET) {
                qemu.add(qemuState(desc));
            }
            at = descAt + align4(descsz);
        }
    }

    private static Map<String, Long> qemuState(ByteBuffer d) {
        Map<String, Long> regs = new HashMap<>();
        for (int r = 0; r < QEMU_GPRS.length; r++) regs.put(QEMU_GPRS[r], d.getLong(8 + 8 * r));
        for (int s = 0; s < QEMU_SEGMENTS.length; s++) {
            int at = QEMU_SEGMENT_OFFSET + s * QEMU_SEGMENT_SIZE;
            String seg = QEMU_SEGMENTS[s];
            if (s < 6) regs.put(seg, (long) d.getInt(at) & 0xffff);
            regs.put(seg + "_base", d.getLong(at + 16));
            if (s >= 6) regs.put(seg + "_limit", (long) d.getInt(at + 4) & 0xffffffffL); // ldt, tr, gdt, idt
        }
        for (int c = 0; c < 5; c++) {
            if (c != 1) regs.put("cr" + c, d.getLong(QEMU_CR_OFFSET + 8 * c)); // cr1 does not exist
        }
        int size = d.getInt(4);
        if (size >= QEMU_KERNEL_GS_OFFSET + 8 && d.limit() >= QEMU_KERNEL_GS_OFFSET + 8) {
            regs.put("kernel_gs_base", d.getLong(QEMU_KERNEL_GS_OFFSET));
        }
        return regs;
    }

    private static int align4(int n) { return (n + 3) & ~3; }

    private static byte[] bytesOf(ByteBuffer b, int at, int len) {
        byte[] out = new byte[len];
        b.get(at, out, 0, len);
        return out;
    }

    private static ByteBuffer bytes(MappedFile file, long offset, int len, String what, String part) {
        if (offset < 0 || offset + len > file.length()) {
            throw new IllegalArgumentException(what + ": " + part + " at file offset 0x" + Long.toHexString(offset)
                    + " is past the end of the file (0x" + Long.toHexString(file.length()) + " bytes): truncated?");
        }
        byte[] b = new byte[len];
        file.read(offset, b, 0, len);
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Override
    public void read(long physAddr, byte[] dst, int off, int len) {
        map.readPieces(description, physAddr, dst, off, len, file::read);
    }

    /** A slice of the mapped core when the range lies in one PT_LOAD segment (as RamFileMemory gives of a RAM file). */
    @Override
    public ByteBuffer view(long physAddr, int len) {
        long at = map.backingOffsetWithin(physAddr, len);
        return at < 0 ? null : file.view(at, len);
    }

    @Override public List<CoreCpuState> cpus() { return cpus; }

    @Override public Set<String> noteNames() { return noteNames; }

    @Override public MemoryMap map() { return map; }

    @Override public int idealBatchSize() { return 1 << 20; }

    @Override public String describe() { return description; }

    @Override public void close() { file.close(); }
}
