package dev.vmsight.vmi.vcpu;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.OptionalLong;
import java.util.TreeMap;

/**
 * One vCPU's registers by name, as a monitor needs them at run time (live-in registers of a merged
 * program, CR3 for the address space, GS base for per-CPU data). Names are lower case and fixed by
 * {@link #NAMES}; a provider may add others (cr8, mxcsr, ldt_base...). Values are unsigned 64-bit
 * quantities; selectors and limits are zero-extended. Providers: {@link VcpuStates#fromCore}
 * (ELF core notes), {@link VcpuStates#fromHmp} (HMP {@code info registers} text), a snapshot's
 * registers, and the gdbstub (in the guests module).
 *
 * @param source    where the values came from, for messages ("gdbstub", "ELF core /x vCPU 0")
 * @param registers name → value, the names of {@link #NAMES} first in that order
 */
public record VcpuState(String source, Map<String, Long> registers) {

    /** The registers every full provider gives, in their canonical order. */
    public static final List<String> NAMES = List.of(
            "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
            "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
            "rip", "rflags",
            "cs", "ss", "ds", "es", "fs", "gs",
            "fs_base", "gs_base", "kernel_gs_base",
            "cr0", "cr2", "cr3", "cr4", "efer",
            "gdt_base", "gdt_limit", "idt_base", "idt_limit", "tr_base");

    public VcpuState {
        LinkedHashMap<String, Long> ordered = new LinkedHashMap<>();
        for (String n : NAMES) {
            Long v = registers.get(n);
            if (v != null) ordered.put(n, v);
        }
        for (Map.Entry<String, Long> e : new TreeMap<>(registers).entrySet()) {
            if (!e.getKey().equals(e.getKey().toLowerCase())) {
                throw new IllegalArgumentException("register names are lower case: '" + e.getKey() + "' from " + source);
            }
            ordered.putIfAbsent(e.getKey(), e.getValue());
        }
        registers = Collections.unmodifiableMap(ordered);
    }

    /** The register, if the provider gave it. */
    public OptionalLong find(String name) {
        Long v = registers.get(name);
        return v == null ? OptionalLong.empty() : OptionalLong.of(v);
    }

    /** The register; throws naming it and the source when the provider did not give it. */
    public long get(String name) {
        Long v = registers.get(name);
        if (v == null) {
            throw new NoSuchElementException(source + " has no register " + name + " (it gave " + registers.keySet() + ")");
        }
        return v;
    }

    /** Canonical names this state lacks (empty for a full provider). */
    public List<String> missing() {
        List<String> out = new ArrayList<>();
        for (String n : NAMES) if (!registers.containsKey(n)) out.add(n);
        return out;
    }

    /** This state with {@code other}'s registers added where this one has none (e.g. gdbstub + HMP's GDTR/IDTR/TR). */
    public VcpuState withMissingFrom(VcpuState other) {
        Map<String, Long> merged = new LinkedHashMap<>(other.registers);
        merged.putAll(registers);
        return new VcpuState(source + " + " + other.source, merged);
    }

    public long rip() { return get("rip"); }

    public long rsp() { return get("rsp"); }

    public long cr3() { return get("cr3"); }

    public long cr4() { return get("cr4"); }

    public long efer() { return get("efer"); }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("VcpuState[").append(source).append(']');
        registers.forEach((k, v) -> b.append(' ').append(k).append("=0x").append(Long.toHexString(v)));
        return b.toString();
    }
}
