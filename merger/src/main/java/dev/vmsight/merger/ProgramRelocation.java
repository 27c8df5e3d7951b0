package dev.vmsight.merger;

import dev.vmsight.ir.decode.Decoder;
import dev.vmsight.ir.decode.Instruction;
import dev.vmsight.ir.decode.Operand;
import dev.vmsight.vmi.GuestMemoryException;
import dev.vmsight.vmi.paging.LinearMemory;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A program moved from its training boot's {@link KernelLayout} to another boot's (KASLR): every
 * address it holds, by the region it belongs to ({@link KernelLayout#relocate}), and the code it
 * embeds as the kernel's own boot-time relocation leaves it. The kernel rewrites, when it slides,
 * exactly the absolute references to its image (an immediate or a displacement holding an image
 * address: {@code mov $init_task,%rdi}, {@code __per_cpu_offset(,%rax,8)}), and the RIP-relative
 * references to what does not move (per-CPU variables, {@code %gs:sym(%rip)} with {@code sym} an
 * offset from 0: the kernel's inverse relocations); other RIP-relative operands and relative
 * branches need nothing, their targets move with the instruction. Each rewritten
 * instruction is decoded again and must be the same instruction with only those values moved,
 * so the code check then compares the guest's bytes with what that kernel wrote, byte for byte.
 */
public final class ProgramRelocation {

    private ProgramRelocation() { }

    /**
     * {@code program} as it runs in boot {@code live}, whose kernel code {@code code} shows (see
     * {@link #code}); the program itself when nothing moves.
     */
    public static MergedProgram relocate(MergedProgram program, KernelLayout live, LinearMemory code) {
        RunContext context = program.runContext();
        KernelLayout trained = context.layout();
        if (trained.equals(live)) return program;
        long slide = trained.imageSlide(live);
        List<MergedProgram.ProgramInstruction> instructions = new ArrayList<>();
        for (MergedProgram.ProgramInstruction i : program.instructions()) {
            boolean image = KernelLayout.inImageWindow(i.address());
            instructions.add(new MergedProgram.ProgramInstruction(trained.relocate(i.address(), live),
                    image ? code(i.bytes(), i.address(), trained, live, code) : i.bytes(), i.cpl(), i.keptUops()));
        }
        List<MergedProgram.ControlSite> controls = program.controls().stream().map(c -> new MergedProgram.ControlSite(
                trained.relocate(c.address(), live), c.kind(), sorted(c.successors(), trained, live), c.role())).toList();
        List<MergedProgram.LiveIn> liveIns = program.liveIns().stream().map(in -> in instanceof MergedProgram.LiveIn.Constant c
                ? new MergedProgram.LiveIn.Constant(c.loc(), trained.relocate(c.value(), live)) : in).toList();
        List<MergedProgram.EnvValue> environment = program.environment().stream().map(e -> new MergedProgram.EnvValue(
                trained.relocate(e.address(), live), e.uop(), Arrays.stream(e.values()).map(v -> trained.relocate(v, live)).toArray()))
                .toList();
        List<MergedProgram.CallFrame> frames = program.frames().stream().map(f -> new MergedProgram.CallFrame(
                trained.relocate(f.callAddress(), live), trained.relocate(f.returnAddress(), live), f.restoredLocs())).toList();
        List<MergedProgram.CallSummary> summaries = program.summaries().stream().map(s -> new MergedProgram.CallSummary(
                trained.relocate(s.callAddress(), live), trained.relocate(s.returnAddress(), live), s.kind(), s.value(),
                s.image().stream().map(v -> v.relative() || v.size() != 8 ? v
                        : new MergedProgram.InitialValue(v.offset(), v.size(), trained.relocate(v.value(), live), false)).toList()))
                .toList();
        return new MergedProgram(program.formatVersion(), program.name(), program.kernelTextSha256(), program.kernelRelease(),
                program.features(), program.policy(), trained.relocate(program.entry(), live), trained.relocate(program.end(), live),
                instructions, controls, liveIns, program.input(), program.userMemory(), program.output(), program.stats(),
                environment, frames, summaries, context.relocated(live));
    }

    private static long[] sorted(long[] successors, KernelLayout trained, KernelLayout live) {
        long[] out = Arrays.stream(successors).map(v -> trained.relocate(v, live)).toArray();
        Arrays.sort(out);
        return out;
    }

    /**
     * The bytes of the image instruction at {@code address} as the guest's kernel relocated them
     * in boot {@code layout}. The candidates are the fields a relocation can touch: an absolute
     * reference into the image (a 64-bit immediate or a displacement at or above the trained
     * {@code _text}), moved by the slide; a RIP-relative reference to what does not move, moved
     * back; and a 64-bit immediate pointing into the direct map, vmalloc or vmemmap (a runtime
     * constant the kernel patched in at boot), moved by its region. Which of them the kernel did relocate is not in the program
     * (a displacement may be a number: {@code lea -0x4498517b(%rdi)} is a hash constant), so the
     * guest's bytes at the moved address decide, field by field: a field is rewritten only where
     * the guest holds exactly the relocated value. Any other difference is left for the code check
     * to report. The rewrite must decode as the same instruction with only those values moved.
     *
     * @param live the guest's code (null: nothing is rewritten)
     * @throws IllegalArgumentException when a rewrite decodes as another instruction
     */
    static byte[] code(byte[] bytes, long address, KernelLayout trained, KernelLayout layout, LinearMemory live) {
        long slide = trained.imageSlide(layout), text = trained.text();
        if (trained.equals(layout) || live == null) return bytes;
        Instruction before = Decoder.decode(bytes, address);
        byte[] guest = new byte[bytes.length];
        try {
            live.read(address + slide, guest, 0, guest.length);
        } catch (GuestMemoryException unreadable) {
            return bytes;     // the code check reports it
        }
        byte[] out = bytes.clone();
        ByteBuffer o = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer g = ByteBuffer.wrap(guest).order(ByteOrder.LITTLE_ENDIAN);
        List<Operand> expected = new ArrayList<>();
        for (Operand op : before.operands()) {
            long value = 0, delta = 0;
            if (op instanceof Operand.Imm imm && imm.size() == 8 && imageReference(imm.value(), text)) {
                value = imm.value();
                delta = slide;
            } else if (op instanceof Operand.Imm imm && imm.size() == 8 && imm.value() != (int) imm.value()
                    && trained.relocate(imm.value(), layout) != imm.value()) {
                // a 64-bit immediate in the direct map, vmalloc or vmemmap: a pointer the kernel patched
                // into its code at boot (6.9 on, runtime constants: d_hash's dentry_hashtable)
                value = imm.value();
                delta = trained.relocate(value, layout) - value;
            } else if (op instanceof Operand.Mem m && !m.ripRelative() && m.addressSize() == 8 && imageReference(m.disp(), text)) {
                value = m.disp();
                delta = slide;
            } else if (op instanceof Operand.Mem m && m.ripRelative() && !KernelLayout.inImageWindow(before.nextAddress() + m.disp())) {
                value = m.disp();
                delta = -slide;
            }
            // an 8-byte field (movabs) where the value needs it or is stored whole, else the 4-byte one
            int at8 = delta == 0 || before.length() < 10 ? -1 : find(out, value, 8);
            int width = delta == 0 ? 0 : value != (int) value || at8 >= 0 ? 8 : 4;
            int at = width == 0 ? -1 : width == 8 ? at8 : find(out, value, 4);
            boolean relocated = at >= 0 && (width == 8 ? g.getLong(at) == value + delta : g.getInt(at) == (int) (value + delta));
            if (!relocated) {
                expected.add(op instanceof Operand.Rel r ? new Operand.Rel(r.target() + slide) : op);
                continue;
            }
            if (width == 8) o.putLong(at, value + delta); else o.putInt(at, (int) (value + delta));
            expected.add(op instanceof Operand.Imm imm ? new Operand.Imm(imm.value() + delta, imm.size())
                    : moved((Operand.Mem) op, delta));
        }
        Instruction after = Decoder.decode(out, address + slide);
        if (after.length() != before.length() || after.mnemonic() != before.mnemonic() || !after.operands().equals(expected)) {
            throw new IllegalArgumentException("instruction at 0x" + Long.toHexString(address) + " (" + before
                    + ") does not relocate by 0x" + Long.toHexString(slide) + ": the rewrite decodes as " + after);
        }
        return out;
    }

    private static Operand.Mem moved(Operand.Mem m, long delta) {
        return new Operand.Mem(m.segment(), m.base(), m.index(), m.scale(), m.disp() + delta, m.size(), m.addressSize());
    }

    /** A value that may refer into the image: from {@code _text} to the end of the image window. */
    private static boolean imageReference(long v, long text) {
        return Long.compareUnsigned(v, text) >= 0 && KernelLayout.inImageWindow(v);
    }

    /** The last offset (after the first byte: never the opcode) where {@code width} bytes of {@code v} are stored, or -1. */
    private static int find(byte[] code, long v, int width) {
        ByteBuffer b = ByteBuffer.wrap(code).order(ByteOrder.LITTLE_ENDIAN);
        for (int at = code.length - width; at >= 1; at--) {
            long got = width == 8 ? b.getLong(at) : b.getInt(at);
            if (got == (width == 8 ? v : (long) (int) v)) return at;
        }
        return -1;
    }
}
