package dev.vmsight.tracer.trace.file;

import dev.vmsight.ir.sys.CpuFeatures;
import dev.vmsight.tracer.trace.DeliveryEvent;
import dev.vmsight.tracer.trace.EnvInputEvent;
import dev.vmsight.tracer.trace.InstructionEvent;
import dev.vmsight.tracer.trace.MemoryAccess;
import dev.vmsight.tracer.trace.TraceEvent;
import dev.vmsight.tracer.trace.TraceHeader;
import dev.vmsight.tracer.trace.TraceHeader.BufferSpec;
import dev.vmsight.tracer.trace.TraceHeader.GuestIdentity;
import dev.vmsight.tracer.trace.TraceHeader.Marks;
import dev.vmsight.tracer.trace.TraceHeader.StartState;
import dev.vmsight.tracer.trace.TraceSummary;
import dev.vmsight.tracer.trace.TranslationEvent;
import dev.vmsight.tracer.trace.UopExecution;
import dev.vmsight.tracer.trace.file.ByteSource.Malformed;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The uncompressed encoding of events (within one chunk), of the header and of the summary; see
 * tracer/TRACE-FORMAT.md. Event encoding is delta-coded against the previous event of the same
 * chunk ({@link ChunkState}), so every chunk decodes on its own.
 */
final class EventCodec {
    // Event tag: kind in bits 0-2; for instructions, CPL in bits 3-4 and "fetch faulted, no bytes" in bit 5.
    static final int INSTRUCTION = 1;
    static final int DELIVERY = 2;
    static final int TRANSLATION = 3;
    static final int ENV_INPUT = 4;
    private static final int KIND_MASK = 0x07;
    private static final int CPL_SHIFT = 3;
    private static final int NO_BYTES = 0x20;

    // µop flags byte.
    private static final int UOP_FAULTED = 1;
    private static final int UOP_ACCESSES = 2;
    private static final int UOP_SIDE = 4;

    private EventCodec() { }

    /** What deltas are taken against; reset at every chunk start. */
    static final class ChunkState {
        long step;
        long rip;

        ChunkState(long firstStep) { this.step = firstStep; }
    }

    // ---------------------------------------------------------------- events

    static void encode(TraceEvent event, ChunkState st, ByteSink out) {
        // Java 17: no pattern switch yet; the sealed TraceEvent has exactly these four kinds.
        if (event instanceof InstructionEvent e) {
            encodeInstruction(e, st, out);
        } else if (event instanceof DeliveryEvent e) {
            out.u8(DELIVERY);
            step(e.step(), st, out);
            out.zigzag(e.vector());
            out.zigzag(e.errorCode());
            out.zigzag(e.returnRip());
            out.zigzag(e.handler());
            out.string(e.cause());
            accesses(nonNull(e.accesses(), "accesses", e), out);
            out.ints(nonNull(e.readLocs(), "readLocs", e));
            out.ints(nonNull(e.writtenLocs(), "writtenLocs", e));
            valuesWithoutCount(e.writtenValues(), out);
        } else if (event instanceof TranslationEvent e) {
            out.u8(TRANSLATION);
            step(e.step(), st, out);
            out.zigzag(e.id());
            out.zigzag(e.cr3());
            out.zigzag(e.pageBase());
            out.zigzag(e.pageSize());
            out.zigzag(e.frame());
            out.longs(e.pteAddresses());
            valuesWithoutCount(e.pteValues(), out);
        } else if (event instanceof EnvInputEvent e) {
            out.u8(ENV_INPUT);
            step(e.step(), st, out);
            out.string(e.kind());
            out.longs(nonNull(e.args(), "args", e));
            out.longs(nonNull(e.values(), "values", e));
            out.string(e.source());
        } else {
            throw new IllegalArgumentException("not a trace event: " + event);
        }
    }

    private static void encodeInstruction(InstructionEvent e, ChunkState st, ByteSink out) {
        if (e.cpl() < 0 || e.cpl() > 3) {
            throw new IllegalArgumentException("instruction at step " + e.step() + " has CPL " + e.cpl());
        }
        byte[] bytes = e.bytes();
        out.u8(INSTRUCTION | e.cpl() << CPL_SHIFT | (bytes == null ? NO_BYTES : 0));
        step(e.step(), st, out);
        out.zigzag(e.rip() - st.rip);
        st.rip = e.rip();
        if (bytes != null) {
            out.varInt(bytes.length);
            out.bytes(bytes, 0, bytes.length);
        }
        List<UopExecution> uops = e.uops();
        out.varInt(uops.size());
        int prevIndex = -1;
        for (UopExecution u : uops) {
            out.zigzag((long) u.index() - prevIndex - 1);
            prevIndex = u.index();
            MemoryAccess[] acc = nonNull(u.accesses(), "accesses", e);
            int[] side = u.sideLocs();
            out.u8((u.faulted() ? UOP_FAULTED : 0) | (acc.length > 0 ? UOP_ACCESSES : 0)
                    | (side.length > 0 ? UOP_SIDE : 0));
            out.longs(nonNull(u.inputs(), "inputs", e));
            out.longs(nonNull(u.outputs(), "outputs", e));
            if (acc.length > 0) {
                accesses(acc, out);
            }
            if (side.length > 0) {
                out.ints(side);
                valuesWithoutCount(u.sideValues(), out);
            }
        }
    }

    private static void step(long step, ChunkState st, ByteSink out) {
        out.zigzag(step - st.step);
        st.step = step;
    }

    private static void accesses(MemoryAccess[] accesses, ByteSink out) {
        out.varInt(accesses.length);
        for (MemoryAccess a : accesses) {
            out.zigzag(a.va());
            out.zigzag(a.pa());
            out.zigzag(a.pa2());
            out.u8(a.size() | (a.write() ? 0x10 : 0));
            out.zigzag(a.value());
            out.zigzag(a.translation());
        }
    }

    private static void valuesWithoutCount(long[] values, ByteSink out) {
        for (long v : values) {
            out.zigzag(v);
        }
    }

    private static <T> T nonNull(T value, String field, TraceEvent e) {
        if (value == null) {
            throw new IllegalArgumentException(e.getClass().getSimpleName() + " at step " + e.step() + ": " + field
                    + " is null (use an empty array)");
        }
        return value;
    }

    static TraceEvent decode(ByteSource in, ChunkState st) throws Malformed {
        int at = in.position();
        int tag = in.u8();
        int kind = tag & KIND_MASK;
        if (kind != INSTRUCTION && tag != kind || kind < INSTRUCTION || kind > ENV_INPUT) {
            throw new Malformed("unknown event tag 0x" + Integer.toHexString(tag) + " at payload offset " + at);
        }
        long step = st.step + in.zigzag();
        st.step = step;
        return switch (kind) {
            case INSTRUCTION -> decodeInstruction(tag, step, in, st);
            case DELIVERY -> {
                int vector = in.zigzagInt();
                long errorCode = in.zigzag();
                long returnRip = in.zigzag();
                long handler = in.zigzag();
                String cause = in.string();
                MemoryAccess[] accesses = accesses(in);
                int[] readLocs = in.ints();
                int[] writtenLocs = in.ints();
                long[] writtenValues = valuesWithoutCount(writtenLocs.length, in);
                yield new DeliveryEvent(step, vector, errorCode, returnRip, handler, cause, accesses, readLocs,
                        writtenLocs, writtenValues);
            }
            case TRANSLATION -> {
                int id = in.zigzagInt();
                long cr3 = in.zigzag();
                long pageBase = in.zigzag();
                long pageSize = in.zigzag();
                long frame = in.zigzag();
                long[] pteAddresses = in.longs();
                long[] pteValues = valuesWithoutCount(pteAddresses.length, in);
                yield new TranslationEvent(step, id, cr3, pageBase, pageSize, frame, pteAddresses, pteValues);
            }
            case ENV_INPUT -> new EnvInputEvent(step, in.string(), in.longs(), in.longs(), in.string());
            default -> throw new AssertionError(kind);
        };
    }

    private static InstructionEvent decodeInstruction(int tag, long step, ByteSource in, ChunkState st)
            throws Malformed {
        if ((tag & ~(KIND_MASK | 3 << CPL_SHIFT | NO_BYTES)) != 0) {
            throw new Malformed("unknown instruction tag 0x" + Integer.toHexString(tag));
        }
        int cpl = tag >>> CPL_SHIFT & 3;
        long rip = st.rip + in.zigzag();
        st.rip = rip;
        byte[] bytes = null;
        if ((tag & NO_BYTES) == 0) {
            int at = in.position();
            int n = in.count(1);
            if (n > 15) {
                throw new Malformed("an instruction of " + n + " bytes at payload offset " + at);
            }
            bytes = new byte[n];
            for (int i = 0; i < n; i++) {
                bytes[i] = (byte) in.u8();
            }
        }
        int n = in.count(4);
        List<UopExecution> uops = new ArrayList<>(n);
        int prevIndex = -1;
        for (int i = 0; i < n; i++) {
            int at0 = in.position();
            long wide = (long) prevIndex + 1 + in.zigzag();
            if (wide != (int) wide) {
                throw new Malformed("µop index " + wide + " at payload offset " + at0 + " is outside the int range");
            }
            int index = (int) wide;
            prevIndex = index;
            int at = in.position();
            int flags = in.u8();
            if ((flags & ~(UOP_FAULTED | UOP_ACCESSES | UOP_SIDE)) != 0) {
                throw new Malformed("unknown µop flags 0x" + Integer.toHexString(flags) + " at payload offset " + at);
            }
            long[] inputs = in.longs();
            long[] outputs = in.longs();
            MemoryAccess[] acc = (flags & UOP_ACCESSES) != 0 ? accesses(in) : UopExecution.NO_ACCESSES;
            int[] sideLocs = UopExecution.NO_LOCS;
            long[] sideValues = UopExecution.NO_VALUES;
            if ((flags & UOP_SIDE) != 0) {
                sideLocs = in.ints();
                sideValues = valuesWithoutCount(sideLocs.length, in);
            }
            uops.add(new UopExecution(index, inputs, outputs, acc, sideLocs, sideValues, (flags & UOP_FAULTED) != 0));
        }
        return new InstructionEvent(step, rip, cpl, bytes, uops);
    }

    private static MemoryAccess[] accesses(ByteSource in) throws Malformed {
        MemoryAccess[] a = new MemoryAccess[in.count(6)];
        for (int i = 0; i < a.length; i++) {
            long va = in.zigzag();
            long pa = in.zigzag();
            long pa2 = in.zigzag();
            int at = in.position();
            int sizeWrite = in.u8();
            int size = sizeWrite & 0x0F;
            if (size < 1 || size > 8 || (sizeWrite & ~0x1F) != 0) {
                throw new Malformed("memory access size byte 0x" + Integer.toHexString(sizeWrite)
                        + " at payload offset " + at);
            }
            a[i] = new MemoryAccess(va, pa, pa2, size, in.zigzag(), (sizeWrite & 0x10) != 0, in.zigzagInt());
        }
        return a;
    }

    private static long[] valuesWithoutCount(int n, ByteSource in) throws Malformed {
        long[] v = new long[n];
        for (int i = 0; i < n; i++) {
            v[i] = in.zigzag();
        }
        return v;
    }

    // ---------------------------------------------------------------- header

    static void encodeHeader(TraceHeader h, ByteSink out) {
        out.string(h.program());
        out.varInt(h.args().size());
        for (String a : h.args()) {
            out.string(a);
        }
        GuestIdentity g = h.guest();
        out.bool(g != null);
        if (g != null) {
            out.string(g.kernelTextSha256());
            out.string(g.kernelRelease());
            out.string(g.kernelPackage());
            out.zigzag(g.vcpus());
            out.zigzag(g.memoryBytes());
        }
        CpuFeatures f = h.features();
        out.bool(f != null);
        if (f != null) {
            out.bool(f.bmi1());
            out.bool(f.lzcnt());
        }
        Marks m = h.marks();
        out.bool(m != null);
        if (m != null) {
            out.zigzag(m.main());
            out.zigzag(m.markIn());
            out.zigzag(m.markOut());
            out.zigzag(m.cr3());
        }
        buffer(h.input(), out);
        buffer(h.expectedOutput(), out);
        StartState s = h.start();
        out.bool(s != null);
        if (s != null) {
            out.longs(s.architectural());
            out.zigzag(s.gdtBase());
            out.zigzag(s.gdtLimit());
            out.zigzag(s.idtBase());
            out.zigzag(s.idtLimit());
            out.zigzag(s.tssBase());
            out.zigzag(s.physicalAddressBits());
        }
        // Sorted, so that the same header always encodes to the same bytes.
        Map<String, String> context = new TreeMap<>(h.context());
        out.varInt(context.size());
        context.forEach((k, v) -> {
            out.string(k);
            out.string(v);
        });
        out.zigzag(h.createdEpochMillis());
    }

    private static void buffer(BufferSpec b, ByteSink out) {
        out.bool(b != null);
        if (b != null) {
            out.string(b.name());
            out.zigzag(b.va());
            out.zigzag(b.length());
            out.longs(b.pagePhysicalAddresses());
            out.nullableBytes(b.bytes());
        }
    }

    static TraceHeader decodeHeader(ByteSource in) throws Malformed {
        String program = in.string();
        int nArgs = in.count(1);
        List<String> args = new ArrayList<>(nArgs);
        for (int i = 0; i < nArgs; i++) {
            args.add(in.string());
        }
        GuestIdentity guest = in.bool()
                ? new GuestIdentity(in.string(), in.string(), in.string(), in.zigzagInt(), in.zigzag()) : null;
        CpuFeatures features = in.bool() ? new CpuFeatures(in.bool(), in.bool()) : null;
        Marks marks = in.bool() ? new Marks(in.zigzag(), in.zigzag(), in.zigzag(), in.zigzag()) : null;
        BufferSpec input = buffer(in);
        BufferSpec expected = buffer(in);
        StartState start = in.bool() ? new StartState(in.longs(), in.zigzag(), in.zigzagInt(), in.zigzag(),
                in.zigzagInt(), in.zigzag(), in.zigzagInt()) : null;
        int nContext = in.count(2);
        Map<String, String> context = new LinkedHashMap<>();
        for (int i = 0; i < nContext; i++) {
            int at = in.position();
            String k = in.string();
            String v = in.string();
            if (k == null || v == null) {
                throw new Malformed("a null context key or value at payload offset " + at);
            }
            context.put(k, v);
        }
        long created = in.zigzag();
        return new TraceHeader(program, args, guest, features, marks, input, expected, start, context, created);
    }

    private static BufferSpec buffer(ByteSource in) throws Malformed {
        if (!in.bool()) {
            return null;
        }
        return new BufferSpec(in.string(), in.zigzag(), in.zigzagInt(), in.longs(), in.nullableBytes());
    }

    // ---------------------------------------------------------------- summary

    static void encodeSummary(TraceSummary s, ByteSink out) {
        for (long v : new long[] {s.instructions(), s.uops(), s.kernelInstructions(), s.userInstructions(),
                s.distinctSites(), s.deliveries(), s.translations(), s.envInputs()}) {
            out.zigzag(v);
        }
        out.bool(s.reachedEnd());
        out.nullableBytes(s.replayedOutput());
        out.bool(s.fidelity());
        out.u64(Double.doubleToRawLongBits(s.replaySeconds()));
    }

    static TraceSummary decodeSummary(ByteSource in) throws Malformed {
        long[] c = new long[8];
        for (int i = 0; i < c.length; i++) {
            c[i] = in.zigzag();
        }
        boolean reachedEnd = in.bool();
        byte[] output = in.nullableBytes();
        boolean fidelity = in.bool();
        long bits = 0;
        for (int i = 0; i < 8; i++) {
            bits = bits << 8 | in.u8();
        }
        return new TraceSummary(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], reachedEnd, output, fidelity,
                Double.longBitsToDouble(bits));
    }
}
