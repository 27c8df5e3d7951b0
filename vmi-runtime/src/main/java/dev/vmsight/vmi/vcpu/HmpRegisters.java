package dev.vmsight.vmi.vcpu;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The text of HMP {@code info registers} on an x86-64 QEMU (format of target/i386 x86_cpu_dump_state, read for meaning). */
final class HmpRegisters {
    /** "RAX=0000000000000000", "R8 =…", "RFL=00000246", "CR0=80050033", "EFER=…", "MXCSR=…". */
    private static final Pattern SCALAR = Pattern.compile("\\b(R[A-Z0-9]{1,2}) ?=([0-9a-f]{8,16})\\b|\\b(CR[0234]|EFER|MXCSR)=([0-9a-f]+)\\b");
    /** "CS =0010 0000000000000000 ffffffff 00af9b00", "TR =0040 fffffe…", "LDT=0000 …". */
    private static final Pattern SEGMENT = Pattern.compile("(?m)^(ES|CS|SS|DS|FS|GS|LDT|TR) ?=([0-9a-f]{4}) ([0-9a-f]{16}) ([0-9a-f]{8})");
    /** "GDT=     fffffe0000001000 0000007f". */
    private static final Pattern TABLE = Pattern.compile("(?m)^(GDT|IDT)= +([0-9a-f]{16}) ([0-9a-f]{8})");
    private static final Pattern CPU = Pattern.compile("(?m)^CPU#(\\d+)");
    private static final Map<String, String> GPR = Map.ofEntries(
            Map.entry("RAX", "rax"), Map.entry("RBX", "rbx"), Map.entry("RCX", "rcx"), Map.entry("RDX", "rdx"),
            Map.entry("RSI", "rsi"), Map.entry("RDI", "rdi"), Map.entry("RBP", "rbp"), Map.entry("RSP", "rsp"),
            Map.entry("R8", "r8"), Map.entry("R9", "r9"), Map.entry("R10", "r10"), Map.entry("R11", "r11"),
            Map.entry("R12", "r12"), Map.entry("R13", "r13"), Map.entry("R14", "r14"), Map.entry("R15", "r15"),
            Map.entry("RIP", "rip"), Map.entry("RFL", "rflags"));

    /** HMP's run state of the vCPU: HLT=1 while it waits in HLT. */
    private static final Pattern HALTED = Pattern.compile("\\bHLT=([01])\\b");

    private HmpRegisters() {
    }

    static VcpuState parse(String text, String source) {
        List<String> blocks = cpuBlocks(text);
        if (blocks.size() > 1) {
            throw new IllegalArgumentException(source + ": info registers text holds " + blocks.size()
                    + " CPUs; pass one CPU#n block (VcpuStates.hmpCpuBlocks)");
        }
        Map<String, Long> regs = new HashMap<>();
        Matcher m = SCALAR.matcher(text);
        while (m.find()) {
            if (m.group(1) != null) {
                String name = GPR.get(m.group(1));
                if (name != null) regs.putIfAbsent(name, Long.parseUnsignedLong(m.group(2), 16));
            } else {
                regs.putIfAbsent(m.group(3).toLowerCase(), Long.parseUnsignedLong(m.group(4), 16));
            }
        }
        Matcher s = SEGMENT.matcher(text);
        while (s.find()) {
            String seg = s.group(1).toLowerCase();
            long base = Long.parseUnsignedLong(s.group(3), 16);
            switch (seg) {
                case "ldt", "tr" -> {
                    regs.put(seg, Long.parseLong(s.group(2), 16));
                    regs.put(seg + "_base", base);
                    regs.put(seg + "_limit", Long.parseLong(s.group(4), 16));
                }
                default -> {
                    regs.put(seg, Long.parseLong(s.group(2), 16));
                    if (seg.equals("fs") || seg.equals("gs")) regs.put(seg + "_base", base);
                }
            }
        }
        Matcher h = HALTED.matcher(text);
        if (h.find()) {
            regs.put("hlt", Long.parseLong(h.group(1)));    // the vCPU waits in HLT (the idle loop)
        }
        Matcher t = TABLE.matcher(text);
        while (t.find()) {
            String table = t.group(1).toLowerCase();
            regs.put(table + "_base", Long.parseUnsignedLong(t.group(2), 16));
            regs.put(table + "_limit", Long.parseLong(t.group(3), 16));
        }
        for (String required : VcpuState.NAMES) {
            if (!regs.containsKey(required) && !required.equals("kernel_gs_base")) {
                throw new IllegalArgumentException(source + ": no " + required + " in the info registers text"
                        + " (is it QEMU's x86-64 HMP output?): " + excerpt(text));
            }
        }
        return new VcpuState(source, regs);
    }

    static List<String> cpuBlocks(String text) {
        List<String> out = new ArrayList<>();
        Matcher m = CPU.matcher(text);
        List<Integer> starts = new ArrayList<>();
        while (m.find()) starts.add(m.start());
        if (starts.isEmpty()) return List.of(text);
        for (int i = 0; i < starts.size(); i++) {
            out.add(text.substring(starts.get(i), i + 1 < starts.size() ? starts.get(i + 1) : text.length()));
        }
        return out;
    }

    private static String excerpt(String text) {
        String t = text.strip();
        return t.length() > 120 ? t.substring(0, 120) + "..." : t;
    }
}
