package dev.vmsight.agent;

import dev.vmsight.jit.run.Answer;
import dev.vmsight.jit.run.GuestSource;
import dev.vmsight.jit.run.HookedDispatch;
import dev.vmsight.jit.run.KernelCodeCheck;
import dev.vmsight.jit.run.ProgramRuns;
import dev.vmsight.jit.run.RunOutcome;
import dev.vmsight.merger.KernelLayout;
import dev.vmsight.merger.KernelPlacement;
import dev.vmsight.merger.MergedProgram;
import dev.vmsight.merger.RunContext;
import dev.vmsight.merger.Symbols;
import dev.vmsight.vmi.Budget;
import dev.vmsight.vmi.paging.AddressSpace;
import dev.vmsight.vmi.vcpu.VcpuState;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One guest's cycle: read the guest's own {@code /proc} (qemu-guest-agent), pause it, check the
 * trained kernel code against its live code (hooks), run the monitors (pslist; getpsfile for the
 * name of each PID only the monitor sees), resume, read {@code /proc} again, and update the
 * cross-view and the hook findings. Cycles of one guest never overlap (the agent runs them on one
 * thread per guest); nothing here writes to the guest. Logs are SLF4J events with key-value pairs
 * (guest, state, detail...): a JSON backend gets them as fields; the CLI's slf4j-simple prints
 * them as key=value.
 */
final class GuestMonitor {
    private static final Logger LOG = LoggerFactory.getLogger(GuestMonitor.class);

    /**
     * More differing instructions than this is another kernel (a reboot into another build or
     * KASLR slide), not hooks: the bundle does not apply and the next candidate is tried.
     */
    static final int MAX_HOOKED_INSTRUCTIONS = 32;
    /** At most this many suspects get their name read per cycle (a hostile guest cannot make a cycle long). */
    static final int MAX_NAMES = 16;
    /** The most a warm-up run on the running guest may take ({@link #placeWhileRunning}). */
    static final java.time.Duration WARM_UP_BUDGET = java.time.Duration.ofSeconds(2);
    static final long WARM_UP_BUDGET_STEPS = 200_000_000L;


    private final AgentConfig.GuestEntry entry;
    private final AgentConfig config;
    private final Bundles bundles;
    private final GuestAccess access;
    private final CrossView crossView;
    private final HookWatch hookWatch;
    private final AlertSink sink;
    private final AgentMetrics metrics;
    private final Clock clock;
    private final Map<String, Bundles.Bundle> chosen = new LinkedHashMap<>();
    private volatile GuestStatus status;
    /** The KASLR slide of the guest's kernel image in the last selection (names use the training boot's symbols). */
    private volatile long imageSlide;
    /** The last cycle ran its monitors: their placements fit the guest's kernel layout (see {@link #placeWhileRunning}). */
    private boolean placedForLastCycle;
    private long cycles;

    GuestMonitor(AgentConfig.GuestEntry entry, AgentConfig config, Bundles bundles, AlertSink sink, AgentMetrics metrics, Clock clock) {
        this.entry = entry;
        this.config = config;
        this.bundles = bundles;
        this.access = new GuestAccess(entry.access(), entry.pause());
        this.crossView = new CrossView(entry.name(), config.hiddenAfter());
        this.hookWatch = new HookWatch(entry.name());
        this.sink = sink;
        this.metrics = metrics;
        this.clock = clock;
        this.status = new GuestStatus("starting", "no cycle yet", null, 0, 0, 0);
    }

    String name() { return entry.name(); }

    AgentConfig.GuestEntry entry() { return entry; }

    GuestStatus status() { return status; }

    /** One cycle; never throws for the guest's sake (an unreachable guest is a status, not a crash). */
    synchronized CycleReport cycle() {
        long t0 = System.nanoTime();
        Instant now = clock.instant();
        cycles++;
        List<Alert> alerts = new ArrayList<>();
        Map<String, RunOutcome> outcomes = new LinkedHashMap<>();
        long pause = 0;
        String gaProblem = null;
        Set<Long> before = null, after = null;
        try {
            access.settleResume();
            if (!access.running()) {
                access.endCycle();
                return finish(t0, 0, false, outcomes, alerts, "guest not running",
                        "paused or stopped by someone else; the agent leaves it so and looks again next cycle", now);
            }
        } catch (RuntimeException e) {
            access.endCycle();
            return finish(t0, 0, false, outcomes, alerts, "waiting for the guest", describe(e), now);
        }
        // before the guest's own first view: the view and the pause that follows stay close together
        if (entry.pause() && !placedForLastCycle) placeWhileRunning();
        try {
            before = access.ownPids();
        } catch (RuntimeException e) {
            gaProblem = e.getMessage();
        }
        GuestSource source;
        long p0 = System.nanoTime();
        try {
            source = access.open();
        } catch (RuntimeException e) {
            access.endCycle();
            return finish(t0, System.nanoTime() - p0, false, outcomes, alerts, "waiting for the guest", describe(e), now);
        }
        Looked looked;
        try {
            looked = look(source, before, outcomes);
        } catch (RuntimeException e) {   // the guest went away mid-cycle (HMP, QMP, libvirt), or a bug: a status, never a crash
            looked = new Looked(Set.of(), Map.of(), false, List.of(), false, List.of(), "the look at the guest failed: " + describe(e));
        } finally {
            try {
                source.close();
            } catch (RuntimeException e) {
                access.owesResume();   // paid at the start of the next cycle
                LOG.atWarn().addKeyValue("guest", entry.name()).addKeyValue("error", describe(e))
                        .log("could not resume the guest after the cycle; resuming it first next cycle");
            }
            pause = entry.pause() ? System.nanoTime() - p0 : 0;
        }
        if (entry.pause()) metrics.pause(entry.name(), pause);
        if (gaProblem == null) {
            try {
                after = access.ownPids();
            } catch (RuntimeException e) {
                gaProblem = e.getMessage();
            }
        }
        access.endCycle();
        if (looked.codeChecked()) {
            alerts.addAll(hookWatch.update(now, looked.codeFindings(), EnumSet.of(Alert.Kind.CODE_HOOK)));
        }
        if (looked.pslistRan()) {
            alerts.addAll(hookWatch.update(now, looked.dispatchFindings(), EnumSet.of(Alert.Kind.DISPATCH_HOOK)));
        }
        String state = "watching", detail;
        if (looked.problem() != null) {
            state = looked.problem().startsWith("no bundle") ? "waiting for a bundle" : "monitor refused";
            detail = looked.problem();
        } else if (gaProblem != null) {
            state = "cross-view paused: guest agent unreachable";
            detail = gaProblem;
        } else {
            alerts.addAll(crossView.update(now, looked.pids(), before, after, looked.names()));
            detail = looked.pids().size() + " processes out of the guest, " + after.size() + " in its /proc";
        }
        metrics.guestAgentUp(entry.name(), gaProblem == null);
        return finish(t0, pause, looked.problem() == null, outcomes, alerts, state, detail, now);
    }

    private CycleReport finish(long t0, long pause, boolean ok, Map<String, RunOutcome> outcomes, List<Alert> alerts, String state,
                         String detail, Instant now) {
        placedForLastCycle = ok;
        for (Alert a : alerts) {
            sink.emit(a);
            metrics.alert(entry.name(), a);
        }
        long nanos = System.nanoTime() - t0;
        metrics.cycle(entry.name(), ok, nanos);
        GuestStatus previous = status;
        if (!state.equals(previous.state())) {
            (ok ? LOG.atInfo() : LOG.atWarn()).addKeyValue("guest", entry.name()).addKeyValue("state", state)
                    .addKeyValue("detail", detail).log("guest state changed");
        }
        status = new GuestStatus(state, detail, now, cycles, crossView.hidden().size(), hookWatch.active());
        metrics.active(entry.name(), crossView.hidden().size() + hookWatch.active());
        return new CycleReport(ok, nanos, pause, outcomes, alerts);
    }

    /**
     * Chooses, relocates and compiles the bundles for the guest's kernel layout (its KASLR slide)
     * with the guest running, so that the paused look that follows finds them ready: otherwise the
     * first cycle would keep the guest paused while the monitors are moved and compiled (0.8 s on
     * the host, seconds in the security VM). Done before the first cycle and after any cycle that
     * did not run its monitors (a guest rebooting into a new slide fails cycles first, unless it
     * came back between two of them). Kernel code does not change while the guest runs, so the
     * choice holds; the paused look checks the code again. Any failure is left for the paused
     * look to meet and report.
     *
     * <p>The kernel's symbols, which alerts name hooks with, are read here too. Each monitor then
     * runs once on the running guest, its outcome discarded: the first run
     * of a compiled monitor loads its classes and runs them interpreted, so without this the
     * paused look pays for it (in the security VM's emulated JVM, most of the first pause). A
     * running guest can be mid-update, so the run may refuse or fail; it reads only, its budget
     * is at most {@link #WARM_UP_BUDGET}, and nothing is reported.
     */
    private void placeWhileRunning() {
        try (GuestSource running = access.openRunning()) {
            for (String program : entry.monitors()) {
                Selected s = select(program, running, new ArrayList<>());
                if (s == null) continue;
                s.placement().monitor();
                s.placement().hooks();
                symbols(s.bundle());    // read once: naming a hook in a paused cycle would read the kallsyms file (1.5 s in the VM)
                warmUp(s, program);
            }
        } catch (RuntimeException e) {
            LOG.atDebug().addKeyValue("guest", entry.name()).addKeyValue("error", describe(e)).log("could not place the monitors ahead of the pause");
        }
    }

    /** Runs a placed monitor once, discarding the outcome (getpsfile asks for PID 1, which every guest has). */
    private void warmUp(Selected s, String program) {
        MergedProgram p = s.placement().program;
        byte[] in = program.equals("getpsfile") ? ProgramRuns.inputBytes(p, "1") : null;
        Budget cycle = budget();
        java.time.Duration time = cycle.maxTime().compareTo(WARM_UP_BUDGET) < 0 ? cycle.maxTime() : WARM_UP_BUDGET;
        Budget warm = Budget.of(Math.min(cycle.maxSteps(), WARM_UP_BUDGET_STEPS), time);
        long t0 = System.nanoTime();
        RunOutcome o = ProgramRuns.runJit(p, s.placement().monitor(), s.attached(), in, warm);
        LOG.atDebug().addKeyValue("guest", entry.name()).addKeyValue("program", program).addKeyValue("outcome", o.toText())
                .addKeyValue("ms", (System.nanoTime() - t0) / 1_000_000).log("warm-up run on the running guest");
    }

    /** What one paused look at the guest found. */
    private record Looked(Set<Long> pids, Map<Long, String> names, boolean codeChecked, List<HookWatch.Finding> codeFindings,
                          boolean pslistRan, List<HookWatch.Finding> dispatchFindings, String problem) { }

    private Looked look(GuestSource source, Set<Long> before, Map<String, RunOutcome> outcomes) {
        List<HookWatch.Finding> code = new ArrayList<>();
        List<HookWatch.Finding> dispatch = new ArrayList<>();
        Selected pslist = select("pslist", source, code);
        if (pslist == null) {
            return new Looked(Set.of(), Map.of(), false, List.of(), false, List.of(),
                    "no bundle for this guest's kernel: none of " + bundles.candidates("pslist") + " in " + bundles.dir()
                            + " matches its code (a kernel still booting, or another kernel: then retrain with vmsight train pslist on it)");
        }
        RunOutcome ps = run(pslist, null, dispatch);
        outcomes.put("pslist", ps);
        if (!(ps instanceof RunOutcome.Answered a)) {
            return new Looked(Set.of(), Map.of(), true, code, true, dispatch, "pslist: " + ps.toText());
        }
        Set<Long> pids = new TreeSet<>(a.answer().numbers());
        Map<Long, String> names = new LinkedHashMap<>();
        if (before != null && entry.monitors().contains("getpsfile")) {
            Set<Long> unseen = new TreeSet<>(pids);
            unseen.removeAll(before);
            Selected getpsfile = unseen.isEmpty() ? null : select("getpsfile", source, code);
            int n = 0;
            for (long pid : unseen) {
                if (getpsfile == null || n++ >= MAX_NAMES) break;
                RunOutcome o = run(getpsfile, Long.toString(pid), dispatch);
                outcomes.put("getpsfile " + pid, o);
                if (o instanceof RunOutcome.Answered named && !named.answer().text().isEmpty()) {
                    names.put(pid, named.answer().text());
                }
            }
        }
        for (String other : entry.monitors()) {
            if (other.equals("pslist") || other.equals("getpsfile")) continue;
            Selected s = select(other, source, code);
            if (s != null) outcomes.put(other, run(s, null, dispatch));
        }
        return new Looked(pids, names, true, code, true, dispatch, null);
    }

    /** A bundle that applies to the paused guest, placed at its kernel layout and attached; {@code slide} is the image's KASLR slide. */
    private record Selected(Bundles.Bundle bundle, Bundles.Placement placement, RunContext.Attached attached, long slide) { }

    /**
     * The bundle of {@code program} whose trained kernel code, moved to the guest's kernel layout
     * (KASLR), matches the guest up to a few patched instructions (hooks, added to {@code code});
     * the one chosen last time first. Null when none applies.
     */
    private Selected select(String program, GuestSource source, List<HookWatch.Finding> code) {
        List<Bundles.Bundle> candidates = new ArrayList<>(bundles.candidates(program));
        Bundles.Bundle last = chosen.get(program);
        if (last != null && candidates.remove(last)) candidates.add(0, last);
        VcpuState vcpu = ProgramRuns.userEntryView(source.vcpu());
        for (Bundles.Bundle b : candidates) {
            Bundles.Placement placed;
            RunContext.Attached attached;
            long slide;
            try {
                RunContext trained = b.program().runContext();
                var found = trained.known() ? KernelPlacement.find(source.memory(), vcpu, trained) : null;
                placed = found == null ? b.trained() : b.at(found.layout(), found.kernel());
                slide = found == null ? 0 : trained.layout().imageSlide(found.layout());
                attached = placed.program.runContext().attach(source.memory(), vcpu, source.cpu(), found == null ? java.util.OptionalLong.empty() : java.util.OptionalLong.of(found.physBase()));
            } catch (RunContext.ContextException | IllegalArgumentException e) {
                continue;    // no kernel of this bundle's kind here, or code it cannot move: another kernel
            }
            KernelCodeCheck.Report report = KernelCodeCheck.compare(placed.code(), AddressSpace.of(attached.memory(), attached.vcpu()),
                    placed.program.features(), MAX_HOOKED_INSTRUCTIONS + 1);
            if (report.differences().size() > MAX_HOOKED_INSTRUCTIONS) continue;
            if (report.differences().stream().anyMatch(d -> d.live() == null)) continue;   // unmapped trained code: another kernel
            imageSlide = slide;
            for (KernelCodeCheck.Difference d : report.differences()) code.add(codeFinding(b, d));
            if (last != b) {
                LOG.atInfo().addKeyValue("guest", entry.name()).addKeyValue("program", program).addKeyValue("bundle", b)
                        .addKeyValue("slide", "0x" + Long.toHexString(slide)).log("bundle selected");
            }
            chosen.put(program, b);
            return new Selected(b, placed, attached, slide);
        }
        chosen.remove(program);
        return null;
    }

    /** Runs a selected bundle: the JIT, and past hooked dispatches with the reference executor when the JIT meets one. */
    private RunOutcome run(Selected s, String input, List<HookWatch.Finding> dispatch) {
        MergedProgram p = s.placement().program;
        byte[] in = input == null ? null : ProgramRuns.inputBytes(p, input);
        RunOutcome o = ProgramRuns.runJit(p, s.placement().monitor(), s.attached(), in, budget());
        HookedDispatch hooks = s.placement().hooks();
        if (o instanceof RunOutcome.UnseenPath u && hooks.isHook(u.site(), u.observed())) {
            HookedDispatch.Bypassed past = hooks.runPast(s.attached(), in, budget());
            for (HookedDispatch.Hook h : past.hooks()) dispatch.add(dispatchFinding(h));
            o = past.outcome();
        }
        // still unseen at a dispatch, and not into module code (runPast went past those): a pointer
        // to other kernel code; no answer, but an alert
        if (o instanceof RunOutcome.UnseenPath u && hooks.isIndirect(u.site()) && !hooks.isHook(u.site(), u.observed())) {
            dispatch.add(untrainedDispatchFinding(u));
        }
        metrics.run(entry.name(), p.name(), o);
        return o;
    }

    private Budget budget() {
        return Budget.of(config.budgetSteps(), config.budget());
    }

    private Symbols symbols(Bundles.Bundle b) {
        return AgentSymbols.forKernel(config.symbols(), b.program().kernelTextSha256());
    }

    private HookWatch.Finding codeFinding(Bundles.Bundle b, KernelCodeCheck.Difference d) {
        String where = name(symbols(b), d.address());
        HexFormat hex = HexFormat.of();
        Map<String, String> details = new LinkedHashMap<>();
        details.put("address", "0x" + Long.toHexString(d.address()));
        details.put("function", where);
        details.put("trained", hex.formatHex(d.trained()));
        details.put("live", hex.formatHex(d.live()));
        details.put("bundle", b.toString());
        return new HookWatch.Finding(Alert.Kind.CODE_HOOK, "code:0x" + Long.toHexString(d.address()),
                "kernel code patched at " + where + ": " + hex.formatHex(d.live()) + ", trained " + hex.formatHex(d.trained()), details);
    }

    private HookWatch.Finding dispatchFinding(HookedDispatch.Hook h) {
        Bundles.Bundle any = chosen.get("pslist");
        Symbols sym = any == null ? Symbols.none() : symbols(any);
        Map<String, String> details = new LinkedHashMap<>();
        details.put("site", "0x" + Long.toHexString(h.site()));
        details.put("site_function", name(sym, h.site()));
        details.put("target", "0x" + Long.toHexString(h.observed()));
        details.put("returns_to", h.returnAddress() == -1 ? "" : name(sym, h.returnAddress()));
        details.put("trained_target", h.resolved() ? name(sym, h.trainedTarget()) : "");
        return new HookWatch.Finding(Alert.Kind.DISPATCH_HOOK, "dispatch:0x" + Long.toHexString(h.site()) + "->0x" + Long.toHexString(h.observed()),
                "hooked dispatch: the call returning to " + details.get("returns_to") + " went to module code 0x"
                        + Long.toHexString(h.observed()) + (h.resolved() ? " instead of " + details.get("trained_target") : ""), details);
    }

    private HookWatch.Finding untrainedDispatchFinding(RunOutcome.UnseenPath u) {
        Bundles.Bundle any = chosen.get("pslist");
        Symbols sym = any == null ? Symbols.none() : symbols(any);
        Map<String, String> details = new LinkedHashMap<>();
        details.put("site", "0x" + Long.toHexString(u.site()));
        details.put("site_function", name(sym, u.site()));
        details.put("target", name(sym, u.observed()));
        details.put("trained_targets", String.join(" ", u.expected().stream().map(t -> name(sym, t)).toList()));
        return new HookWatch.Finding(Alert.Kind.DISPATCH_HOOK, "dispatch:0x" + Long.toHexString(u.site()) + "->0x" + Long.toHexString(u.observed()),
                "untrained dispatch: the indirect branch at " + details.get("site_function") + " went to " + details.get("target")
                        + ", which training never saw there", details);
    }

    /**
     * "function+0xoff (0xaddress)" for kernel-image addresses with symbols, the hex address otherwise;
     * the symbols are the training boot's, so the guest's address is looked up less its image slide.
     */
    private String name(Symbols symbols, long address) {
        return name(symbols, address, imageSlide);
    }

    static String name(Symbols symbols, long address, long slide) {
        String hex = "0x" + Long.toHexString(address);
        String f = HookedDispatch.inModules(address) ? null
                : symbols.describe(KernelLayout.inImageWindow(address) ? address - slide : address);
        return f == null ? hex : f + " (" + hex + ")";
    }

    private static String describe(RuntimeException e) {
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }

    void close() {
        access.close();
    }
}
