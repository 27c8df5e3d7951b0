package dev.vmsight.merger;

import dev.vmsight.ir.decode.IntelSyntax;
import dev.vmsight.ir.sys.SystemMachine;
import dev.vmsight.ir.uop.LiftedInstruction;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.uop.Uop;
import dev.vmsight.ir.uop.UopKind;
import dev.vmsight.merger.MergedProgram.ControlSite;
import dev.vmsight.merger.MergedProgram.LiveIn;
import dev.vmsight.merger.MergedProgram.MemoryRange;
import dev.vmsight.merger.MergedProgram.ProgramInstruction;
import dev.vmsight.merger.MergedProgram.Statistics;

import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * A program listing in the spirit of Virtuoso's: every instruction with its µops (kept ones
 * marked {@code *}), control sites with role and successors, live-ins, inputs, embedded memory, and
 * statistics with a per-function breakdown. Functions are the program's call targets (and its
 * entry), named from symbols when given (the guest's kallsyms, the training binary's ELF symbols).
 */
public final class Inspector {
    private Inspector() { }

    /** A function of the breakdown: its entry, name, instructions, µop sites and kept ones. */
    public record FunctionStats(long entry, String name, int instructions, long uopSites, long keptSites) { }

    public static Map<Long, FunctionStats> functions(MergedProgram p, Symbols symbols) {
        TreeSet<Long> entries = functionEntries(p);
        TreeMap<Long, long[]> counts = new TreeMap<>(Long::compareUnsigned);
        for (ProgramInstruction i : p.instructions()) {
            Map.Entry<Long, String> sym = symbols.function(i.address());
            long key = sym != null && sameHalf(sym.getKey(), i.address()) ? sym.getKey() : owner(entries, i.address());
            long[] c = counts.computeIfAbsent(key, k -> new long[3]);
            c[0]++;
            c[1] += lift(p, i).uops().size();
            c[2] += i.keptUops().length;
        }
        Map<Long, FunctionStats> out = new TreeMap<>(Long::compareUnsigned);
        counts.forEach((entry, c) -> {
            String name = symbols.describe(entry);
            if (entry == 0 || entry == MergedProgram.USER_HALF_END) {
                name = (entry == 0 ? "user" : "kernel") + " code below every function entry";
            } else if (name == null || !sameHalf(symbols.function(entry).getKey(), entry)) {
                name = (isUser(entry) ? "user_" : "kernel_") + Long.toHexString(entry);
            }
            out.put(entry, new FunctionStats(entry, name, (int) c[0], c[1], c[2]));
        });
        return out;
    }

    /**
     * Where functions start, from the call/ret structure: the program's entry, every call's
     * target (a direct call's own operand; an indirect call's seen targets), and the targets of
     * returns that go elsewhere than after a call (a retpoline thunk's jump to the function it
     * calls). A skipped call's successor is its return address, not a function.
     */
    static TreeSet<Long> functionEntries(MergedProgram p) {
        TreeSet<Long> entries = new TreeSet<>(Long::compareUnsigned);
        entries.add(p.entry());
        Map<Long, ControlSite> controls = p.controlMap();
        java.util.Set<Long> afterCalls = new java.util.HashSet<>();
        java.util.List<ControlSite> returns = new java.util.ArrayList<>();
        for (ProgramInstruction i : p.instructions()) {
            LiftedInstruction li = lift(p, i);
            ControlSite c = controls.get(i.address());
            for (Uop u : li.uops()) {
                if (u.kind() == UopKind.CALL) {
                    entries.add(u.imm()[0]);
                    afterCalls.add(i.address() + i.bytes().length);
                } else if (u.kind() == UopKind.CALL_IND) {
                    afterCalls.add(i.address() + i.bytes().length);
                    if (c != null && c.role() != MergedProgram.ControlRole.SKIP) {
                        for (long t : c.successors()) {
                            entries.add(t);
                        }
                    }
                } else if (u.kind() == UopKind.RET && c != null) {
                    returns.add(c);
                }
            }
        }
        for (ControlSite r : returns) {
            for (long t : r.successors()) {
                if (!afterCalls.contains(t) && r.role() != MergedProgram.ControlRole.RETURN) {
                    entries.add(t);
                }
            }
        }
        return entries;
    }

    /** The function entry at or below {@code address} in its own half; code below every entry of its half is one group. */
    private static long owner(TreeSet<Long> entries, long address) {
        Long f = entries.floor(address);
        if (f != null && sameHalf(f, address)) {
            return f;
        }
        return isUser(address) ? 0 : MergedProgram.USER_HALF_END;
    }

    private static boolean isUser(long address) { return Long.compareUnsigned(address, MergedProgram.USER_HALF_END) < 0; }

    private static boolean sameHalf(long a, long b) { return isUser(a) == isUser(b); }

    public static String listing(MergedProgram p, Symbols symbols, boolean showUops) {
        StringBuilder b = new StringBuilder();
        Statistics s = p.stats();
        b.append(String.format(Locale.ROOT, "program   %s (policy %s, model v%d)%n", p.name(), p.policy(), p.formatVersion()));
        b.append(String.format(Locale.ROOT, "kernel    %s (%s); cpu bmi1 %s, lzcnt %s%n", p.kernelTextSha256(),
                p.kernelRelease(), p.features().bmi1(), p.features().lzcnt()));
        b.append(String.format(Locale.ROOT, "entry     0x%x   END 0x%x   output %s from rdi/rsi at END%n", p.entry(), p.end(),
                p.output().kind()));
        b.append(p.input().length() == 0 ? "input     none\n"
                : String.format(Locale.ROOT, "input     %d bytes at 0x%x%n", p.input().length(), p.input().va()));
        b.append(String.format(Locale.ROOT, "traces    %d%n", s.traces()));
        b.append(String.format(Locale.ROOT, "µops      %d of %d executions kept (%.2f%%); %d of %d µop sites kept (%.2f%%)%n",
                s.keptUopExecutions(), s.uopExecutions(), percent(s.keptUopExecutions(), s.uopExecutions()),
                s.keptUopSites(), s.uopSites(), percent(s.keptUopSites(), s.uopSites())));
        b.append(String.format(Locale.ROOT, "code      %d instructions, %d blocks; control sites: %d branches, %d guards, %d followed%n",
                s.instructions(), s.blocks(), s.branches(), s.guards(), s.follows()));
        b.append("live-ins ");
        if (p.liveIns().isEmpty()) {
            b.append(" none");
        }
        for (LiveIn l : p.liveIns()) {
            if (l instanceof LiveIn.Constant c) {
                b.append(String.format(Locale.ROOT, " %s=0x%x", Loc.name(c.loc()), c.value()));
            } else {
                LiveIn.FromVcpu v = (LiveIn.FromVcpu) l;
                b.append(' ').append(Loc.name(v.loc())).append("←vcpu.").append(v.register());
            }
        }
        b.append('\n');
        long userBytes = p.userMemory().stream().mapToLong(r -> r.bytes().length).sum();
        b.append(String.format(Locale.ROOT, "user mem  %d bytes in %d ranges embedded", userBytes, p.userMemory().size()));
        for (int i = 0; i < Math.min(8, p.userMemory().size()); i++) {
            MemoryRange r = p.userMemory().get(i);
            b.append(String.format(Locale.ROOT, " 0x%x+%d", r.va(), r.bytes().length));
        }
        b.append(p.userMemory().size() > 8 ? " ...\n" : "\n");
        b.append("\nfunctions (instructions, kept/total µop sites)\n");
        for (FunctionStats f : functions(p, symbols).values()) {
            b.append(String.format(Locale.ROOT, "  %-40s %6d  %6d/%-6d%n", f.name(), f.instructions(), f.keptSites(), f.uopSites()));
        }
        b.append("\nlisting (* = µop in the slice)\n");
        Map<Long, ControlSite> controls = p.controlMap();
        for (ProgramInstruction i : p.instructions()) {
            LiftedInstruction li = lift(p, i);
            String sym = symbols.describe(i.address());
            b.append(String.format(Locale.ROOT, "%016x %s %-30s %s%s%n", i.address(), i.cpl() == 0 ? "K" : "U",
                    hex(i.bytes()), IntelSyntax.format(li.instruction()), sym == null ? "" : "   <" + sym + ">"));
            ControlSite c = controls.get(i.address());
            if (c != null) {
                b.append("                   ").append(c.role()).append(' ').append(c.kind()).append(" →");
                for (long t : c.successors()) {
                    b.append(String.format(Locale.ROOT, " 0x%x", t));
                }
                b.append('\n');
            }
            if (showUops) {
                for (int k = 0; k < li.uops().size(); k++) {
                    boolean kept = Arrays.binarySearch(i.keptUops(), k) >= 0;
                    b.append("                 ").append(kept ? "* " : "  ").append(k).append(": ")
                            .append(li.uops().get(k)).append('\n');
                }
            }
        }
        return b.toString();
    }

    private static LiftedInstruction lift(MergedProgram p, ProgramInstruction i) {
        return SystemMachine.lift(i.bytes(), i.address(), p.features());
    }

    private static double percent(long a, long b) { return b == 0 ? 0 : 100.0 * a / b; }

    private static String hex(byte[] bytes) {
        StringBuilder b = new StringBuilder();
        for (byte x : bytes) {
            b.append(String.format("%02x", x & 0xFF));
        }
        return b.toString();
    }
}
