package dev.vmsight.tracer.trace;

import java.util.Arrays;
import java.util.List;
import java.util.TreeMap;

/**
 * A canonical text of events, headers and summaries, every field and array element included:
 * records with arrays compare arrays by identity, so round-trip tests compare these texts.
 */
public final class EventText {
    private EventText() { }

    public static String of(TraceEvent e) {
        if (e instanceof InstructionEvent i) {
            StringBuilder s = new StringBuilder("I step=" + i.step() + " rip=" + Long.toHexString(i.rip()) + " cpl="
                    + i.cpl() + " bytes=" + (i.bytes() == null ? "null" : Arrays.toString(i.bytes())));
            for (UopExecution u : i.uops()) {
                s.append("\n  u").append(u.index()).append(" in=").append(Arrays.toString(u.inputs()))
                        .append(" out=").append(Arrays.toString(u.outputs())).append(" acc=")
                        .append(accesses(u.accesses())).append(" side=").append(Arrays.toString(u.sideLocs()))
                        .append(Arrays.toString(u.sideValues())).append(" faulted=").append(u.faulted());
            }
            return s.toString();
        }
        if (e instanceof DeliveryEvent d) {
            return "D step=" + d.step() + " vector=" + d.vector() + " err=" + d.errorCode() + " ret=" + d.returnRip()
                    + " handler=" + d.handler() + " cause=" + d.cause() + " acc=" + accesses(d.accesses()) + " read="
                    + Arrays.toString(d.readLocs()) + " written=" + Arrays.toString(d.writtenLocs())
                    + Arrays.toString(d.writtenValues());
        }
        if (e instanceof TranslationEvent t) {
            return "T step=" + t.step() + " id=" + t.id() + " cr3=" + t.cr3() + " page=" + t.pageBase() + "/"
                    + t.pageSize() + " frame=" + t.frame() + " pte=" + Arrays.toString(t.pteAddresses())
                    + Arrays.toString(t.pteValues());
        }
        EnvInputEvent v = (EnvInputEvent) e;
        return "E step=" + v.step() + " kind=" + v.kind() + " args=" + Arrays.toString(v.args()) + " values="
                + Arrays.toString(v.values()) + " source=" + v.source();
    }

    public static List<String> of(List<TraceEvent> events) {
        return events.stream().map(EventText::of).toList();
    }

    private static String accesses(MemoryAccess[] a) {
        return Arrays.toString(a); // MemoryAccess has no arrays: its record toString is complete
    }

    public static String of(TraceHeader h) {
        return "program=" + h.program() + " args=" + h.args() + " guest=" + h.guest() + " features=" + h.features()
                + " marks=" + h.marks() + " input=" + buffer(h.input()) + " expected=" + buffer(h.expectedOutput())
                + " start=" + (h.start() == null ? "null" : Arrays.toString(h.start().architectural()) + " "
                + h.start().gdtBase() + " " + h.start().gdtLimit() + " " + h.start().idtBase() + " "
                + h.start().idtLimit() + " " + h.start().tssBase() + " " + h.start().physicalAddressBits())
                + " context=" + new TreeMap<>(h.context()) + " created=" + h.createdEpochMillis();
    }

    private static String buffer(TraceHeader.BufferSpec b) {
        return b == null ? "null" : b.name() + " " + b.va() + " " + b.length() + " "
                + Arrays.toString(b.pagePhysicalAddresses()) + " " + (b.bytes() == null ? "null"
                : Arrays.toString(b.bytes()));
    }

    public static String of(TraceSummary s) {
        return s.instructions() + " " + s.uops() + " " + s.kernelInstructions() + " " + s.userInstructions() + " "
                + s.distinctSites() + " " + s.deliveries() + " " + s.translations() + " " + s.envInputs() + " "
                + s.reachedEnd() + " " + (s.replayedOutput() == null ? "null" : Arrays.toString(s.replayedOutput()))
                + " " + s.fidelity() + " " + Double.doubleToRawLongBits(s.replaySeconds());
    }
}
