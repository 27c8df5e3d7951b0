package dev.vmsight.merger;

import dev.vmsight.ir.sys.CpuFeatures;
import dev.vmsight.merger.MergedProgram.ControlKind;
import dev.vmsight.merger.MergedProgram.ControlRole;
import dev.vmsight.merger.MergedProgram.ControlSite;
import dev.vmsight.merger.MergedProgram.LiveIn;
import dev.vmsight.merger.MergedProgram.MemoryRange;
import dev.vmsight.merger.MergedProgram.OutputKind;
import dev.vmsight.merger.MergedProgram.OutputSpec;
import dev.vmsight.merger.MergedProgram.ProgramInput;
import dev.vmsight.merger.MergedProgram.ProgramInstruction;
import dev.vmsight.merger.MergedProgram.Statistics;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;

/**
 * The merged-program file: {@code "VMSPROG\0"}, u32 file format version, u64 body length, the body,
 * u32 CRC-32 of the body. All integers big-endian (DataOutputStream). The body is the
 * {@link MergedProgram} field by field (see {@link #body}); counts are checked against what remains
 * so a damaged file is reported with its offset, never an OutOfMemoryError.
 */
public final class ProgramFiles {
    static final byte[] MAGIC = "VMSPROG\0".getBytes(StandardCharsets.US_ASCII);
    public static final int VERSION = 3;
    private static final int HEADER = MAGIC.length + 4 + 8;

    private ProgramFiles() { }

    public static void write(MergedProgram program, Path file) {
        byte[] body = body(program);
        CRC32 crc = new CRC32();
        crc.update(body);
        try (DataOutputStream out = new DataOutputStream(Files.newOutputStream(file))) {
            out.write(MAGIC);
            out.writeInt(VERSION);
            out.writeLong(body.length);
            out.write(body);
            out.writeInt((int) crc.getValue());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write program file " + file + ": " + e.getMessage(), e);
        }
    }

    public static MergedProgram read(Path file) {
        byte[] all;
        try {
            all = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read program file " + file + ": " + e.getMessage(), e);
        }
        return read(file, all);
    }

    static MergedProgram read(Path file, byte[] all) {
        if (all.length < HEADER) {
            throw new ProgramFormatException(file, all.length, "truncated header (" + all.length + " bytes, need " + HEADER + ")");
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (all[i] != MAGIC[i]) {
                throw new ProgramFormatException(file, i, "not a vmsight program file (bad magic)");
            }
        }
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.BIG_ENDIAN);
        int version = b.getInt(MAGIC.length);
        if (version != VERSION) {
            throw new ProgramFormatException(file, MAGIC.length, "program file version " + version + ", this vmsight reads " + VERSION);
        }
        long length = b.getLong(MAGIC.length + 4);
        if (length < 0 || length != all.length - HEADER - 4L) {
            throw new ProgramFormatException(file, MAGIC.length + 4, "body length " + length + " but the file holds "
                    + Math.max(0, all.length - HEADER - 4) + " body bytes (truncated or extended)");
        }
        CRC32 crc = new CRC32();
        crc.update(all, HEADER, (int) length);
        int stored = b.getInt(HEADER + (int) length);
        if (stored != (int) crc.getValue()) {
            throw new ProgramFormatException(file, HEADER + length, String.format("CRC mismatch (stored %08x, body %08x)",
                    stored, (int) crc.getValue()));
        }
        ByteBuffer body = ByteBuffer.wrap(all, HEADER, (int) length).slice().order(ByteOrder.BIG_ENDIAN);
        try {
            MergedProgram p = new Parser(file, body).program();
            if (body.hasRemaining()) {
                throw new ProgramFormatException(file, HEADER + body.position(), body.remaining() + " bytes after the program");
            }
            return p;
        } catch (BufferUnderflowException e) {
            throw new ProgramFormatException(file, HEADER + body.position(), "body ends inside a field");
        }
    }

    /** The body, field by field in record order. */
    static byte[] body(MergedProgram p) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream o = new DataOutputStream(bytes)) {
            o.writeInt(MergedProgram.FORMAT_VERSION);   // a program read from an older model is written in this one
            string(o, p.name());
            string(o, p.kernelTextSha256());
            string(o, p.kernelRelease() == null ? "" : p.kernelRelease());
            o.writeBoolean(p.features().bmi1());
            o.writeBoolean(p.features().lzcnt());
            string(o, p.policy());
            o.writeLong(p.entry());
            o.writeLong(p.end());
            o.writeInt(p.instructions().size());
            for (ProgramInstruction i : p.instructions()) {
                o.writeLong(i.address());
                o.writeByte(i.bytes().length);
                o.write(i.bytes());
                o.writeByte(i.cpl());
                o.writeShort(i.keptUops().length);
                for (int k : i.keptUops()) {
                    o.writeShort(k);
                }
            }
            o.writeInt(p.controls().size());
            for (ControlSite c : p.controls()) {
                o.writeLong(c.address());
                o.writeByte(c.kind().ordinal());
                o.writeByte(c.role().ordinal());
                o.writeInt(c.successors().length);
                for (long s : c.successors()) {
                    o.writeLong(s);
                }
            }
            o.writeInt(p.liveIns().size());
            for (LiveIn l : p.liveIns()) {
                o.writeShort(l.loc());
                if (l instanceof LiveIn.Constant c) {
                    o.writeByte(0);
                    o.writeLong(c.value());
                } else {
                    o.writeByte(1);
                    string(o, ((LiveIn.FromVcpu) l).register());
                }
            }
            o.writeLong(p.input().va());
            o.writeInt(p.input().length());
            o.writeInt(p.userMemory().size());
            for (MemoryRange r : p.userMemory()) {
                o.writeLong(r.va());
                o.writeInt(r.bytes().length);
                o.write(r.bytes());
            }
            o.writeByte(p.output().kind().ordinal());
            o.writeInt(p.environment().size());
            for (MergedProgram.EnvValue e : p.environment()) {
                o.writeLong(e.address());
                o.writeShort(e.uop());
                o.writeByte(e.values().length);
                for (long v : e.values()) {
                    o.writeLong(v);
                }
            }
            o.writeInt(p.frames().size());
            for (MergedProgram.CallFrame f : p.frames()) {
                o.writeLong(f.callAddress());
                o.writeLong(f.returnAddress());
                o.writeByte(f.restoredLocs().length);
                for (int loc : f.restoredLocs()) {
                    o.writeShort(loc);
                }
            }
            o.writeInt(p.summaries().size());
            for (MergedProgram.CallSummary c : p.summaries()) {
                o.writeLong(c.callAddress());
                o.writeLong(c.returnAddress());
                o.writeByte(c.kind().ordinal());
                o.writeLong(c.value());
                o.writeInt(c.image().size());
                for (MergedProgram.InitialValue v : c.image()) {
                    o.writeInt(v.offset());
                    o.writeByte(v.size());
                    o.writeLong(v.value());
                    o.writeBoolean(v.relative());
                }
            }
            Statistics s = p.stats();
            o.writeInt(s.traces());
            o.writeLong(s.uopExecutions());
            o.writeLong(s.keptUopExecutions());
            o.writeLong(s.uopSites());
            o.writeLong(s.keptUopSites());
            o.writeInt(s.instructions());
            o.writeInt(s.blocks());
            o.writeInt(s.branches());
            o.writeInt(s.guards());
            o.writeInt(s.follows());
            RunContext c = p.runContext();
            o.writeLong(c.perCpuOffsets());
            o.writeLong(c.currentTaskSlot());
            o.writeLong(c.initTask());
            o.writeLong(c.kernelPageTables());
            o.writeLong(c.physBaseSymbol());
            o.writeByte(c.task().ordinal());
            KernelLayout l = c.layout();
            o.writeLong(l.text());
            o.writeLong(l.pageOffset());
            o.writeLong(l.vmalloc());
            o.writeLong(l.vmemmap());
            o.writeLong(c.regionSymbols().pageOffsetBase());
            o.writeLong(c.regionSymbols().vmallocBase());
            o.writeLong(c.regionSymbols().vmemmapBase());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    private static void string(DataOutputStream o, String s) throws IOException {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length > 0xFFFF) {
            throw new IllegalArgumentException("string of " + b.length + " bytes in a program");
        }
        o.writeShort(b.length);
        o.write(b);
    }

    private record Parser(Path file, ByteBuffer b) {
        MergedProgram program() {
            int modelVersion = b.getInt();
            if (modelVersion != MergedProgram.FORMAT_VERSION && modelVersion != 5) {
                throw error(4, "model version " + modelVersion + ", this vmsight knows 5 and " + MergedProgram.FORMAT_VERSION);
            }
            String name = utf();
            String sha = utf();
            String release = utf();
            CpuFeatures features = new CpuFeatures(bool(), bool());
            String policy = utf();
            long entry = b.getLong();
            long end = b.getLong();
            int n = count(8 + 1 + 1 + 2);
            List<ProgramInstruction> instructions = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                long address = b.getLong();
                int len = b.get() & 0xFF;
                if (len < 1 || len > 15) {
                    throw error(1, "instruction at 0x" + Long.toHexString(address) + " of " + len + " bytes");
                }
                byte[] bytes = new byte[len];
                b.get(bytes);
                int cpl = b.get();
                if (cpl < 0 || cpl > 3) {
                    throw error(1, "CPL " + cpl);
                }
                int kept = b.getShort() & 0xFFFF;
                int[] idx = new int[kept];
                for (int k = 0; k < kept; k++) {
                    idx[k] = b.getShort() & 0xFFFF;
                }
                instructions.add(new ProgramInstruction(address, bytes, cpl, idx));
            }
            n = count(8 + 1 + 1 + 4);
            List<ControlSite> controls = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                long address = b.getLong();
                ControlKind kind = ordinal(ControlKind.values(), "control kind");
                ControlRole role = ordinal(ControlRole.values(), "control role");
                int m = count(8);
                long[] succ = new long[m];
                for (int k = 0; k < m; k++) {
                    succ[k] = b.getLong();
                }
                controls.add(new ControlSite(address, kind, succ, role));
            }
            n = count(3);
            List<LiveIn> live = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                int loc = b.getShort() & 0xFFFF;
                int tag = b.get();
                live.add(switch (tag) {
                    case 0 -> new LiveIn.Constant(loc, b.getLong());
                    case 1 -> new LiveIn.FromVcpu(loc, utf());
                    default -> throw error(1, "live-in tag " + tag);
                });
            }
            ProgramInput input = new ProgramInput(b.getLong(), b.getInt());
            n = count(12);
            List<MemoryRange> memory = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                long va = b.getLong();
                byte[] bytes = new byte[count(1)];
                b.get(bytes);
                memory.add(new MemoryRange(va, bytes));
            }
            OutputSpec output = new OutputSpec(ordinal(OutputKind.values(), "output kind"));
            n = count(11);
            List<MergedProgram.EnvValue> environment = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                long address = b.getLong();
                int uop = b.getShort() & 0xFFFF;
                int m = b.get();
                if (m < 1 || m > 4) {
                    throw error(1, "environment value count " + m + " (1..4)");
                }
                long[] values = new long[m];
                for (int k = 0; k < m; k++) {
                    values[k] = b.getLong();
                }
                environment.add(new MergedProgram.EnvValue(address, uop, values));
            }
            n = count(17);
            List<MergedProgram.CallFrame> frames = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                long call = b.getLong();
                long ret = b.getLong();
                int m = b.get();
                if (m < 0 || m > 16) {
                    throw error(1, "frame of 0x" + Long.toHexString(call) + " restores " + m + " registers (0..16)");
                }
                int[] locs = new int[m];
                for (int k = 0; k < m; k++) {
                    locs[k] = b.getShort();
                    if (locs[k] < 0 || locs[k] >= dev.vmsight.ir.uop.Loc.ARCH_COUNT) {
                        throw error(2, "frame of 0x" + Long.toHexString(call) + " restores location " + locs[k]);
                    }
                }
                frames.add(new MergedProgram.CallFrame(call, ret, locs));
            }
            n = count(25);
            List<MergedProgram.CallSummary> summaries = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                long call = b.getLong();
                long ret = b.getLong();
                MergedProgram.SummaryKind kind = ordinal(MergedProgram.SummaryKind.values(), "call summary kind");
                long value = b.getLong();
                int m = count(14);
                List<MergedProgram.InitialValue> image = new ArrayList<>(m);
                for (int k = 0; k < m; k++) {
                    int offset = b.getInt();
                    int size = b.get();
                    long v = b.getLong();
                    boolean relative = bool();
                    try {
                        image.add(new MergedProgram.InitialValue(offset, size, v, relative));
                    } catch (IllegalArgumentException e) {
                        throw error(14, "call summary at 0x" + Long.toHexString(call) + ": " + e.getMessage());
                    }
                }
                summaries.add(new MergedProgram.CallSummary(call, ret, kind, value, image));
            }
            Statistics stats = new Statistics(b.getInt(), b.getLong(), b.getLong(), b.getLong(), b.getLong(),
                    b.getInt(), b.getInt(), b.getInt(), b.getInt(), b.getInt());
            RunContext context = new RunContext(b.getLong(), b.getLong(), b.getLong(), b.getLong(), b.getLong(),
                    ordinal(RunContext.Task.values(), "run-context task"));
            if (modelVersion >= 6) {   // the kernel layout of the training boot (5: a nokaslr boot, region symbols unknown)
                KernelLayout layout = new KernelLayout(b.getLong(), b.getLong(), b.getLong(), b.getLong());
                context = new RunContext(context.perCpuOffsets(), context.currentTaskSlot(), context.initTask(),
                        context.kernelPageTables(), context.physBaseSymbol(), context.task(), layout,
                        new RunContext.RegionSymbols(b.getLong(), b.getLong(), b.getLong()));
            }
            return new MergedProgram(modelVersion, name, sha, release, features, policy, entry, end, instructions,
                    controls, live, input, memory, output, stats, environment, frames, summaries, context);
        }

        /** A count of items of at least {@code minBytes} each: must fit in what remains. */
        int count(int minBytes) {
            int n = b.getInt();
            if (n < 0 || (long) n * minBytes > b.remaining()) {
                throw error(4, "count " + n + " does not fit in the " + b.remaining() + " bytes left");
            }
            return n;
        }

        <E extends Enum<E>> E ordinal(E[] values, String what) {
            int o = b.get();
            if (o < 0 || o >= values.length) {
                throw error(1, what + " " + o + " (known 0.." + (values.length - 1) + ")");
            }
            return values[o];
        }

        boolean bool() {
            int v = b.get();
            if (v != 0 && v != 1) {
                throw error(1, "boolean " + v);
            }
            return v == 1;
        }

        String utf() {
            int len = b.getShort() & 0xFFFF;
            if (len > b.remaining()) {
                throw error(2, "string of " + len + " bytes, " + b.remaining() + " left");
            }
            byte[] bytes = new byte[len];
            b.get(bytes);
            return new String(bytes, StandardCharsets.UTF_8);
        }

        ProgramFormatException error(int back, String what) {
            return new ProgramFormatException(file, HEADER + b.position() - back, what);
        }
    }
}
