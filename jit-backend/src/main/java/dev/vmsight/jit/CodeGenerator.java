package dev.vmsight.jit;

import dev.vmsight.ir.decode.Instruction;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.uop.Uop;
import dev.vmsight.ir.uop.UopKind;
import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.Label;
import org.objectweb.asm.MethodVisitor;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

import static org.objectweb.asm.Opcodes.*;

/**
 * Emits one class for a {@link JitProgram}. Layout:
 * <ul>
 *   <li>instructions are numbered in program order and grouped, in that order, into static
 *       methods {@code m<k>(int instruction, long[] s, MonitorMemory, RunSupport) → int} whose
 *       estimated bytecode stays under the size budget (HotSpot never compiles methods above
 *       HugeMethodLimit, 8000 bytes);</li>
 *   <li>inside a method every location the method touches is a JVM local (a long; a flag an
 *       int), loaded from {@code s} on entry and stored back on the one exit; each instruction is
 *       a label; a transfer to an instruction of another method returns its number;</li>
 *   <li>{@code run} loops over {@code dispatch}, a binary search over the methods' instruction
 *       ranges; -1 means the program reached its end.</li>
 *   <li>the frame stack of structured calls lives in {@link RunSupport}: a push stores the pushed
 *       locations' locals into {@code s} and calls {@code pushFrame}; a return spills every
 *       location any frame restores, calls {@code popFrame} (which writes the popped frame's values
 *       into {@code s}) and reloads them, then jumps to the return address if training saw it,
 *       else leaves through {@code numberOf} to the run loop.</li>
 * </ul>
 * Loads probe the {@link MonitorMemory} TLB inline; stores and misses call it. Environment and
 * system µops are delegated to the interpreter through {@link RunSupport#delegate}. A call summary
 * stores a constant (RANDOM) or {@link RunSupport#allocate}'s next arena slot (ALLOCATE) into rax.
 */
final class CodeGenerator {
    static final String MEM = "dev/vmsight/jit/MonitorMemory";
    static final String RT = "dev/vmsight/jit/RunSupport";
    static final String SEM = "dev/vmsight/ir/uop/UopSemantics";
    static final String STEP = "(I[JL" + MEM + ";L" + RT + ";)I";
    private static final int GROUP = 128;

    /** Fixed local slots of a block method; locations follow from {@link #FIRST_LOC}. */
    private static final int UNIT = 0, S = 1, M = 2, R = 3, TAGS = 4, PAGES = 5, VA = 6, VPN = 8, SLOT = 10,
            OFF = 11, NEXT = 12, EXIT = 14, FIRST_LOC = 15;

    record Output(String className, byte[] bytes, ControlTable table, int methods) { }

    private final JitProgram program;
    private final String className;
    private final List<JitProgram.Instruction> insns;
    private final Map<Long, Integer> index = new HashMap<>();
    private final Map<Long, Integer> delegatedIndex = new HashMap<>();
    /** Every location some frame restores: a return spills and reloads these (the popped frame is known at run time only). */
    private final TreeSet<Integer> restored = new TreeSet<>();

    private CodeGenerator(JitProgram program, String className) {
        this.program = program;
        this.className = className;
        this.insns = program.instructions();
        for (int i = 0; i < insns.size(); i++) {
            index.put(insns.get(i).address(), i);
            if (insns.get(i).push() != null) {
                for (int l : insns.get(i).push().restoredLocs()) {
                    restored.add(l);
                }
            }
        }
        // delegated µops numbered in program order, as ControlTable.of numbers them
        for (int i = 0; i < insns.size(); i++) {
            for (var e : insns.get(i).keptUops()) {
                if (kindClass(e.getValue().kind()) == KindClass.DELEGATED) {
                    delegatedIndex.put(((long) i << 16) | e.getKey(), delegatedIndex.size());
                }
            }
        }
    }

    /**
     * @param methodBudget estimated bytecode bytes per block method (the caller checks the real
     *                     sizes and retries with a smaller budget)
     */
    static Output generate(JitProgram program, String className, int methodBudget) {
        return new CodeGenerator(program, className).emit(methodBudget);
    }

    private Output emit(int budget) {
        for (int i = 0; i < insns.size(); i++) {
            checkKinds(insns.get(i));
        }
        List<int[]> ranges = partition(budget);
        ClassWriter cw = new ClassWriter(ClassWriter.COMPUTE_FRAMES | ClassWriter.COMPUTE_MAXS) {
            @Override
            protected String getCommonSuperClass(String a, String b) {
                return a.equals(b) ? a : "java/lang/Object";
            }
        };
        cw.visit(V17, ACC_FINAL | ACC_SUPER, className, null, "java/lang/Object",
                new String[]{"dev/vmsight/jit/CompiledBody"});
        MethodVisitor init = cw.visitMethod(ACC_PUBLIC, "<init>", "()V", null, null);
        init.visitCode();
        init.visitVarInsn(ALOAD, 0);
        init.visitMethodInsn(INVOKESPECIAL, "java/lang/Object", "<init>", "()V", false);
        init.visitInsn(RETURN);
        init.visitMaxs(0, 0);
        init.visitEnd();
        for (int k = 0; k < ranges.size(); k++) {
            new BlockMethod(cw, "m" + k, ranges.get(k)[0], ranges.get(k)[1]).emit();
        }
        emitDispatch(cw, ranges);
        emitRun(cw);
        cw.visitEnd();
        ControlTable table = ControlTable.of(program);
        return new Output(className, cw.toByteArray(), table, ranges.size());
    }

    // ---- partitioning

    private List<int[]> partition(int budget) {
        List<int[]> ranges = new ArrayList<>();
        int start = 0;
        int size = 0;
        TreeSet<Integer> locs = new TreeSet<>();
        for (int i = 0; i < insns.size(); i++) {
            TreeSet<Integer> mine = new TreeSet<>(locations(insns.get(i)));
            int est = estimate(insns.get(i), locs.size() + mine.size(), restored.size());
            TreeSet<Integer> union = new TreeSet<>(locs);
            union.addAll(mine);
            int fixed = 12 * union.size() + 64;     // prologue loads, epilogue stores, entry switch
            if (i > start && size + est + fixed > budget) {
                ranges.add(new int[]{start, i});
                start = i;
                size = 0;
                locs.clear();
                union = new TreeSet<>(mine);
            }
            size += est + 12;                         // + a lookupswitch entry
            locs = union;
        }
        if (start < insns.size() || ranges.isEmpty()) {
            ranges.add(new int[]{start, insns.size()});
        }
        return ranges;
    }

    private static int estimate(JitProgram.Instruction in, int localCount, int restoredCount) {
        int bytes = 8;                                  // rip update
        if (in.push() != null) {
            bytes += 12 * in.push().restoredLocs().length + 12;   // stores of the pushed locations, the call
        }
        if (in.control() instanceof JitProgram.Control.Return) {
            bytes += 24 * restoredCount + 40;           // spill and reload around the pop, the dispatch by address
        }
        if (in.summary() != null) {
            bytes += 16;                                // a constant or the allocation call, the store to rax
        }
        for (var e : in.keptUops()) {
            Uop u = e.getValue();
            bytes += switch (kindClass(u.kind())) {
                case LOAD -> 64;
                case DELEGATED -> 24 + 12 * (localCount + 2);   // spill and reload of every local
                case INLINE -> 16;
            };
        }
        bytes += 16 * in.control().successors().size() + 16;   // compare and transfer per successor, the throw
        return bytes;
    }

    enum KindClass { INLINE, LOAD, DELEGATED }

    static KindClass kindClass(UopKind k) {
        return switch (k) {
            case LOAD -> KindClass.LOAD;
            case RDTSC, CPUID, RDRAND, RDPKRU, RDMSR, PORT_IN, WRMSR, PORT_OUT, PRIVILEGED, SYSREG_WRITE, INVLPG,
                    SYSCALL, SYSRET, IRET, HLT, SYSTEM_OP, FAULT -> KindClass.DELEGATED;
            case CONST, MOV, ZEXT, SEXT, MERGE, EXTRACT, ADD, SUB, AND, OR, XOR, NOT, NEG, SHL, SHR, SAR, ROL, ROR,
                    MUL, UMULH, SMULH, DIVU, DIVS, SELECT, EQ, BIT, BSWAP, BSF, BSR, TZCNT, LZCNT, POPCNT, ZERO,
                    SIGN, PARITY, AUX, CARRY_ADD, OVERFLOW_ADD, BORROW_SUB, OVERFLOW_SUB, STORE, JUMP, BRANCH,
                    EXIT_IF, JUMP_IND, CALL, CALL_IND, RET, FENCE -> KindClass.INLINE;
        };
    }

    /** Delegated µops after which the instruction ends at the RIP the system layer set. */
    static boolean leaves(UopKind k) {
        return k == UopKind.SYSCALL || k == UopKind.SYSRET || k == UopKind.IRET || k == UopKind.HLT;
    }

    /** Refuses what cannot be compiled, naming the site: operand locations outside Loc's range. */
    private static void checkKinds(JitProgram.Instruction in) {
        for (var e : in.keptUops()) {
            Uop u = e.getValue();
            for (int[] locs : new int[][]{u.out(), u.in()}) {
                for (int l : locs) {
                    if (l < 0 || l >= Loc.COUNT) {
                        throw new IllegalArgumentException("cannot compile " + u.kind() + " at " + in.lifted().site(e.getKey())
                                + ": location " + l + " out of range");
                    }
                }
            }
        }
    }

    private static List<Integer> locations(JitProgram.Instruction in) {
        List<Integer> r = new ArrayList<>();
        if (in.summary() != null && writesRax(in.summary())) {
            r.add(Loc.GPR0);
        }
        for (var e : in.keptUops()) {
            for (int l : e.getValue().out()) {
                r.add(l);
            }
            for (int l : e.getValue().in()) {
                r.add(l);
            }
        }
        return r;
    }

    /** Whether a call summary of this kind sets rax (RELEASE does nothing). */
    private static boolean writesRax(JitProgram.Summary summary) {
        return switch (summary.kind()) {
            case RANDOM, ALLOCATE -> true;
            case RELEASE -> false;
        };
    }

    // ---- dispatch and run

    private void emitDispatch(ClassWriter cw, List<int[]> ranges) {
        List<Integer> firsts = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (int k = 0; k < ranges.size(); k++) {
            firsts.add(ranges.get(k)[0]);
            names.add("m" + k);
        }
        if (ranges.size() > GROUP) {   // two levels keep each dispatcher small
            List<Integer> groupFirsts = new ArrayList<>();
            List<String> groupNames = new ArrayList<>();
            for (int g = 0; g * GROUP < ranges.size(); g++) {
                int lo = g * GROUP;
                int hi = Math.min(ranges.size(), lo + GROUP);
                String name = "dispatch" + g;
                emitTree(cw, name, firsts.subList(lo, hi), names.subList(lo, hi));
                groupFirsts.add(firsts.get(lo));
                groupNames.add(name);
            }
            emitTree(cw, "dispatch", groupFirsts, groupNames);
        } else {
            emitTree(cw, "dispatch", firsts, names);
        }
    }

    private void emitTree(ClassWriter cw, String name, List<Integer> firsts, List<String> targets) {
        MethodVisitor mv = cw.visitMethod(ACC_PRIVATE | ACC_STATIC, name, STEP, null, null);
        mv.visitCode();
        tree(mv, firsts, targets, 0, firsts.size());
        mv.visitMaxs(0, 0);
        mv.visitEnd();
    }

    private void tree(MethodVisitor mv, List<Integer> firsts, List<String> targets, int lo, int hi) {
        if (hi - lo == 1) {
            mv.visitVarInsn(ILOAD, 0);
            mv.visitVarInsn(ALOAD, 1);
            mv.visitVarInsn(ALOAD, 2);
            mv.visitVarInsn(ALOAD, 3);
            mv.visitMethodInsn(INVOKESTATIC, className, targets.get(lo), STEP, false);
            mv.visitInsn(IRETURN);
            return;
        }
        int mid = (lo + hi) >>> 1;
        Label right = new Label();
        mv.visitVarInsn(ILOAD, 0);
        pushInt(mv, firsts.get(mid));
        mv.visitJumpInsn(IF_ICMPGE, right);
        tree(mv, firsts, targets, lo, mid);
        mv.visitLabel(right);
        tree(mv, firsts, targets, mid, hi);
    }

    private void emitRun(ClassWriter cw) {
        MethodVisitor mv = cw.visitMethod(ACC_PUBLIC, "run", "([JL" + MEM + ";L" + RT + ";)V", null, null);
        mv.visitCode();
        Label loop = new Label();
        Label done = new Label();
        Integer entry = index.get(program.entry());
        if (entry == null) {      // entry == end: nothing to run
            mv.visitVarInsn(ALOAD, 1);
            pushInt(mv, Loc.RIP);
            mv.visitLdcInsn(program.end());
            mv.visitInsn(LASTORE);
            mv.visitInsn(RETURN);
        } else {
            pushInt(mv, entry);
            mv.visitVarInsn(ISTORE, 4);
            mv.visitLabel(loop);
            mv.visitVarInsn(ILOAD, 4);
            mv.visitJumpInsn(IFLT, done);
            mv.visitVarInsn(ALOAD, 3);
            mv.visitMethodInsn(INVOKEVIRTUAL, RT, "backEdge", "()V", false);
            mv.visitVarInsn(ILOAD, 4);
            mv.visitVarInsn(ALOAD, 1);
            mv.visitVarInsn(ALOAD, 2);
            mv.visitVarInsn(ALOAD, 3);
            mv.visitMethodInsn(INVOKESTATIC, className, "dispatch", STEP, false);
            mv.visitVarInsn(ISTORE, 4);
            mv.visitJumpInsn(GOTO, loop);
            mv.visitLabel(done);
            mv.visitInsn(RETURN);
        }
        mv.visitMaxs(0, 0);
        mv.visitEnd();
    }

    static void pushInt(MethodVisitor mv, int v) {
        if (v >= -1 && v <= 5) {
            mv.visitInsn(ICONST_0 + v);
        } else if (v >= Byte.MIN_VALUE && v <= Byte.MAX_VALUE) {
            mv.visitIntInsn(BIPUSH, v);
        } else if (v >= Short.MIN_VALUE && v <= Short.MAX_VALUE) {
            mv.visitIntInsn(SIPUSH, v);
        } else {
            mv.visitLdcInsn(v);
        }
    }

    static void pushLong(MethodVisitor mv, long v) {
        if (v == 0 || v == 1) {
            mv.visitInsn(v == 0 ? LCONST_0 : LCONST_1);
        } else {
            mv.visitLdcInsn(v);
        }
    }

    // ---- one block method

    /** Emits the instructions [lo, hi) as one static method. */
    private final class BlockMethod {
        private final ClassWriter cw;
        private final String name;
        private final int lo;
        private final int hi;
        private final int[] slot = new int[Loc.COUNT];
        private final List<Integer> locs = new ArrayList<>();
        private final Label[] labels;
        private final Label exit = new Label();
        private final List<Runnable> handlers = new ArrayList<>();
        private MethodVisitor mv;

        BlockMethod(ClassWriter cw, String name, int lo, int hi) {
            this.cw = cw;
            this.name = name;
            this.lo = lo;
            this.hi = hi;
            this.labels = new Label[hi - lo];
            TreeSet<Integer> used = new TreeSet<>();
            used.add(Loc.RIP);
            for (int i = lo; i < hi; i++) {
                used.addAll(locations(insns.get(i)));
                labels[i - lo] = new Label();
            }
            int next = FIRST_LOC;
            java.util.Arrays.fill(slot, -1);
            for (int l : used) {
                slot[l] = next;
                next += Loc.isFlag(l) ? 1 : 2;
                locs.add(l);
            }
        }

        void emit() {
            mv = cw.visitMethod(ACC_PRIVATE | ACC_STATIC, name, STEP, null, null);
            mv.visitCode();
            mv.visitVarInsn(ALOAD, M);
            mv.visitFieldInsn(GETFIELD, MEM, "tags", "[J");
            mv.visitVarInsn(ASTORE, TAGS);
            mv.visitVarInsn(ALOAD, M);
            mv.visitFieldInsn(GETFIELD, MEM, "pages", "[Ljava/nio/ByteBuffer;");
            mv.visitVarInsn(ASTORE, PAGES);
            for (int l : new int[]{VA, VPN, NEXT}) {
                mv.visitInsn(LCONST_0);
                mv.visitVarInsn(LSTORE, l);
            }
            for (int l : new int[]{SLOT, OFF, EXIT}) {
                mv.visitInsn(ICONST_0);
                mv.visitVarInsn(ISTORE, l);
            }
            reload();
            entrySwitch();
            for (int i = lo; i < hi; i++) {
                instruction(i);
            }
            mv.visitLabel(exit);
            spill();
            mv.visitVarInsn(ILOAD, EXIT);
            mv.visitInsn(IRETURN);
            for (Runnable h : handlers) {
                h.run();
            }
            mv.visitMaxs(0, 0);
            mv.visitEnd();
        }

        private void entrySwitch() {
            TreeMap<Integer, Label> entries = new TreeMap<>();
            Integer entry = index.get(program.entry());
            if (entry != null && entry >= lo && entry < hi) {
                entries.put(entry, labels[entry - lo]);
            }
            for (int i = 0; i < insns.size(); i++) {
                for (long t : insns.get(i).control().successors()) {
                    Integer j = index.get(t);
                    if (j != null && j >= lo && j < hi && (i < lo || i >= hi)) {
                        entries.put(j, labels[j - lo]);
                    }
                }
                // a return may reach a return address through the run loop, from this method too
                JitProgram.FramePush push = insns.get(i).push();
                Integer j = push == null ? null : index.get(push.returnAddress());
                if (j != null && j >= lo && j < hi) {
                    entries.put(j, labels[j - lo]);
                }
            }
            Label bad = new Label();
            mv.visitVarInsn(ILOAD, UNIT);
            int[] keys = entries.keySet().stream().mapToInt(Integer::intValue).toArray();
            mv.visitLookupSwitchInsn(bad, keys, entries.values().toArray(new Label[0]));
            mv.visitLabel(bad);
            mv.visitTypeInsn(NEW, "java/lang/IllegalStateException");
            mv.visitInsn(DUP);
            mv.visitLdcInsn("no entry to this block method for the instruction number");
            mv.visitMethodInsn(INVOKESPECIAL, "java/lang/IllegalStateException", "<init>", "(Ljava/lang/String;)V", false);
            mv.visitInsn(ATHROW);
        }

        private void reload() {
            for (int l : locs) {
                mv.visitVarInsn(ALOAD, S);
                pushInt(mv, l);
                mv.visitInsn(LALOAD);
                if (Loc.isFlag(l)) {
                    mv.visitInsn(L2I);
                    mv.visitVarInsn(ISTORE, slot[l]);
                } else {
                    mv.visitVarInsn(LSTORE, slot[l]);
                }
            }
        }

        private void spill() {
            for (int l : locs) {
                mv.visitVarInsn(ALOAD, S);
                pushInt(mv, l);
                load(l);
                mv.visitInsn(LASTORE);
            }
        }

        /** Stores the locals among {@code some} into {@code s} (the others are current there already). */
        private void spill(int[] some) {
            for (int l : some) {
                if (slot[l] >= 0) {
                    mv.visitVarInsn(ALOAD, S);
                    pushInt(mv, l);
                    load(l);
                    mv.visitInsn(LASTORE);
                }
            }
        }

        /** Loads the locals among {@code some} from {@code s}. */
        private void reload(int[] some) {
            for (int l : some) {
                if (slot[l] >= 0) {
                    mv.visitVarInsn(ALOAD, S);
                    pushInt(mv, l);
                    mv.visitInsn(LALOAD);
                    if (Loc.isFlag(l)) {
                        mv.visitInsn(L2I);
                        mv.visitVarInsn(ISTORE, slot[l]);
                    } else {
                        mv.visitVarInsn(LSTORE, slot[l]);
                    }
                }
            }
        }

        private void load(int loc) {
            if (Loc.isFlag(loc)) {
                mv.visitVarInsn(ILOAD, slot[loc]);
                mv.visitInsn(I2L);
            } else {
                mv.visitVarInsn(LLOAD, slot[loc]);
            }
        }

        private void store(int loc) {
            if (Loc.isFlag(loc)) {
                mv.visitInsn(L2I);
                mv.visitVarInsn(ISTORE, slot[loc]);
            } else {
                mv.visitVarInsn(LSTORE, slot[loc]);
            }
        }

        private void instruction(int i) {
            JitProgram.Instruction in = insns.get(i);
            Instruction x = in.lifted().instruction();
            mv.visitLabel(labels[i - lo]);
            pushLong(mv, x.address());
            store(Loc.RIP);
            if (in.push() != null) {
                spill(in.push().restoredLocs());
                mv.visitVarInsn(ALOAD, R);
                pushInt(mv, i);
                mv.visitVarInsn(ALOAD, S);
                mv.visitMethodInsn(INVOKEVIRTUAL, RT, "pushFrame", "(I[J)V", false);
            }
            if (in.summary() != null) {
                summary(i, in.summary());
            }
            if (in.control() instanceof JitProgram.Control.Evaluated) {
                pushLong(mv, x.nextAddress());
                mv.visitVarInsn(LSTORE, NEXT);
            }
            Label control = new Label();
            Label start = new Label();
            Label end = new Label();
            mv.visitLabel(start);
            boolean mayFault = false;
            for (var e : in.keptUops()) {
                mayFault |= uop(i, e.getKey(), e.getValue(), control);
            }
            mv.visitLabel(end);
            if (mayFault) {
                mv.visitInsn(NOP);      // keeps the protected range non-empty
                Label handler = new Label();
                mv.visitTryCatchBlock(start, end, handler, "java/lang/RuntimeException");
                handlers.add(() -> {
                    mv.visitLabel(handler);
                    mv.visitVarInsn(ALOAD, R);
                    pushInt(mv, i);
                    mv.visitMethodInsn(INVOKESTATIC, RT, "fault",
                            "(Ljava/lang/RuntimeException;L" + RT + ";I)Ljava/lang/RuntimeException;", false);
                    mv.visitInsn(ATHROW);
                });
            }
            mv.visitLabel(control);
            if (in.control() instanceof JitProgram.Control.Fixed f) {
                transfer(i, f.target(), true);
            } else if (in.control() instanceof JitProgram.Control.Evaluated ev) {
                {
                    for (long t : ev.expected()) {
                        Label no = new Label();
                        mv.visitVarInsn(LLOAD, NEXT);
                        pushLong(mv, t);
                        mv.visitInsn(LCMP);
                        mv.visitJumpInsn(IFNE, no);
                        transfer(i, t, false);
                        mv.visitLabel(no);
                    }
                    mv.visitVarInsn(ALOAD, R);
                    pushInt(mv, i);
                    mv.visitVarInsn(LLOAD, NEXT);
                    switch (ev.onUnseen()) {
                        case THROW -> {
                            mv.visitMethodInsn(INVOKEVIRTUAL, RT, "unseen", "(IJ)Ldev/vmsight/jit/UnseenPath;", false);
                            mv.visitInsn(ATHROW);
                        }
                        case REPORT_AND_FOLLOW -> {
                            mv.visitMethodInsn(INVOKEVIRTUAL, RT, "report", "(IJ)V", false);
                            transfer(i, ev.expected().get(0), false);
                        }
                    }
                }
            } else if (in.control() instanceof JitProgram.Control.Return ret) {
                returnFromFrame(i, ret);
            }
        }

        /** A call the run does not enter (the instruction keeps no µops): rax as the summary says. */
        private void summary(int i, JitProgram.Summary summary) {
            switch (summary.kind()) {
                case RANDOM -> {
                    pushLong(mv, summary.value());
                    store(Loc.GPR0);
                }
                case ALLOCATE -> {
                    mv.visitVarInsn(ALOAD, R);
                    pushInt(mv, i);
                    pushLong(mv, summary.value());
                    mv.visitMethodInsn(INVOKEVIRTUAL, RT, "allocate", "(IJ)J", false);
                    store(Loc.GPR0);
                }
                case RELEASE -> { }
            }
        }

        /**
         * Pops the innermost frame through the run support (which writes its values into {@code s}),
         * then continues at its return address: directly when training saw it here, else through
         * the run loop's dispatch by instruction number.
         */
        private void returnFromFrame(int i, JitProgram.Control.Return ret) {
            int[] all = restored.stream().mapToInt(Integer::intValue).toArray();
            spill(all);
            mv.visitVarInsn(ALOAD, R);
            mv.visitVarInsn(ALOAD, S);
            mv.visitMethodInsn(INVOKEVIRTUAL, RT, "popFrame", "([J)J", false);
            mv.visitVarInsn(LSTORE, NEXT);
            reload(all);
            for (long t : ret.observed()) {
                if (t != program.end() && !index.containsKey(t)) {
                    continue;
                }
                Label no = new Label();
                mv.visitVarInsn(LLOAD, NEXT);
                pushLong(mv, t);
                mv.visitInsn(LCMP);
                mv.visitJumpInsn(IFNE, no);
                transfer(i, t, false);
                mv.visitLabel(no);
            }
            mv.visitVarInsn(LLOAD, NEXT);
            store(Loc.RIP);
            mv.visitVarInsn(ALOAD, R);
            pushInt(mv, i);
            mv.visitVarInsn(LLOAD, NEXT);
            mv.visitMethodInsn(INVOKEVIRTUAL, RT, "numberOf", "(IJ)I", false);
            mv.visitVarInsn(ISTORE, EXIT);
            mv.visitJumpInsn(GOTO, exit);
        }

        /** Control goes from instruction i to address t. */
        private void transfer(int i, long t, boolean mayFallThrough) {
            if (t == program.end()) {
                pushLong(mv, t);
                store(Loc.RIP);
                mv.visitInsn(ICONST_M1);
                mv.visitVarInsn(ISTORE, EXIT);
                mv.visitJumpInsn(GOTO, exit);
                return;
            }
            int j = index.get(t);
            if (j >= lo && j < hi) {
                if (j <= i) {
                    mv.visitVarInsn(ALOAD, R);
                    mv.visitMethodInsn(INVOKEVIRTUAL, RT, "backEdge", "()V", false);
                }
                if (!(mayFallThrough && j == i + 1)) {
                    mv.visitJumpInsn(GOTO, labels[j - lo]);
                }
                return;
            }
            pushLong(mv, t);
            store(Loc.RIP);
            pushInt(mv, j);
            mv.visitVarInsn(ISTORE, EXIT);
            mv.visitJumpInsn(GOTO, exit);
        }

        /** Emits one µop; returns true if it may throw (memory, division, delegated). */
        private boolean uop(int i, int n, Uop u, Label control) {
            int[] o = u.out();
            int[] in = u.in();
            long[] k = u.imm();
            int size = u.size();
            return switch (u.kind()) {
                case CONST -> {
                    pushLong(mv, k[0]);
                    store(o[0]);
                    yield false;
                }
                case MOV -> {
                    load(in[0]);
                    store(o[0]);
                    yield false;
                }
                case ZEXT -> {
                    load(in[0]);
                    if (size != 8) {
                        pushLong(mv, u.mask());
                        mv.visitInsn(LAND);
                    }
                    store(o[0]);
                    yield false;
                }
                case SEXT -> {
                    call1(u, "sext", "(JI)J", true);
                    yield false;
                }
                case MERGE -> {
                    load(in[0]);
                    load(in[1]);
                    pushInt(mv, size);
                    pushLong(mv, k[0]);
                    sem("merge", "(JJIJ)J");
                    store(o[0]);
                    yield false;
                }
                case EXTRACT -> {
                    load(in[0]);
                    pushInt(mv, size);
                    pushLong(mv, k[0]);
                    sem("extract", "(JIJ)J");
                    store(o[0]);
                    yield false;
                }
                case ADD -> {
                    binary(u, LADD);
                    yield false;
                }
                case SUB -> {
                    binary(u, LSUB);
                    yield false;
                }
                case AND -> {
                    binary(u, LAND);
                    yield false;
                }
                case OR -> {
                    binary(u, LOR);
                    yield false;
                }
                case XOR -> {
                    binary(u, LXOR);
                    yield false;
                }
                case MUL -> {
                    binary(u, LMUL);
                    yield false;
                }
                case NOT -> {
                    load(in[0]);
                    mv.visitLdcInsn(-1L);
                    mv.visitInsn(LXOR);
                    store(o[0]);
                    yield false;
                }
                case NEG -> {
                    load(in[0]);
                    mv.visitInsn(LNEG);
                    store(o[0]);
                    yield false;
                }
                case SHL -> {
                    shift(u, LSHL);
                    yield false;
                }
                case SHR -> {
                    shift(u, LUSHR);
                    yield false;
                }
                case SAR -> {
                    shift(u, LSHR);
                    yield false;
                }
                case ROL -> {
                    call2(u, "rol", "(JJI)J", true);
                    yield false;
                }
                case ROR -> {
                    call2(u, "ror", "(JJI)J", true);
                    yield false;
                }
                case UMULH -> {
                    call2(u, "umulh", "(JJ)J", false);
                    yield false;
                }
                case SMULH -> {
                    call2(u, "smulh", "(JJ)J", false);
                    yield false;
                }
                case DIVU, DIVS -> {
                    load(in[0]);
                    load(in[1]);
                    load(in[2]);
                    pushInt(mv, size);
                    sem(u.kind() == UopKind.DIVU ? "divu" : "divs", "(JJJI)[J");
                    mv.visitInsn(DUP);
                    mv.visitInsn(ICONST_0);
                    mv.visitInsn(LALOAD);
                    store(o[0]);
                    mv.visitInsn(ICONST_1);
                    mv.visitInsn(LALOAD);
                    store(o[1]);
                    yield true;
                }
                case SELECT -> {
                    Label no = new Label();
                    Label done = new Label();
                    load(in[0]);
                    mv.visitInsn(LCONST_0);
                    mv.visitInsn(LCMP);
                    mv.visitJumpInsn(IFEQ, no);
                    load(in[1]);
                    mv.visitJumpInsn(GOTO, done);
                    mv.visitLabel(no);
                    load(in[2]);
                    mv.visitLabel(done);
                    store(o[0]);
                    yield false;
                }
                case EQ -> {
                    Label no = new Label();
                    Label done = new Label();
                    load(in[0]);
                    load(in[1]);
                    mv.visitInsn(LCMP);
                    mv.visitJumpInsn(IFNE, no);
                    mv.visitInsn(LCONST_1);
                    mv.visitJumpInsn(GOTO, done);
                    mv.visitLabel(no);
                    mv.visitInsn(LCONST_0);
                    mv.visitLabel(done);
                    store(o[0]);
                    yield false;
                }
                case BIT -> {
                    load(in[0]);
                    load(in[1]);
                    mv.visitInsn(L2I);
                    mv.visitInsn(LUSHR);
                    mv.visitInsn(LCONST_1);
                    mv.visitInsn(LAND);
                    store(o[0]);
                    yield false;
                }
                case BSWAP -> {
                    call1(u, "bswap", "(JI)J", true);
                    yield false;
                }
                case BSF -> {
                    call2(u, "bsf", "(JJI)J", true);
                    yield false;
                }
                case BSR -> {
                    call2(u, "bsr", "(JJI)J", true);
                    yield false;
                }
                case TZCNT -> {
                    call1(u, "tzcnt", "(JI)J", true);
                    yield false;
                }
                case LZCNT -> {
                    call1(u, "lzcnt", "(JI)J", true);
                    yield false;
                }
                case POPCNT -> {
                    call1(u, "popcnt", "(JI)J", true);
                    yield false;
                }
                case ZERO -> {
                    call1(u, "zero", "(JI)J", true);
                    yield false;
                }
                case SIGN -> {
                    call1(u, "sign", "(JI)J", true);
                    yield false;
                }
                case PARITY -> {
                    call1(u, "parity", "(J)J", false);
                    yield false;
                }
                case AUX -> {
                    call3(u, "aux", "(JJJ)J", false);
                    yield false;
                }
                case CARRY_ADD -> {
                    call3(u, "carryAdd", "(JJJI)J", true);
                    yield false;
                }
                case OVERFLOW_ADD -> {
                    call3(u, "overflowAdd", "(JJJI)J", true);
                    yield false;
                }
                case BORROW_SUB -> {
                    call3(u, "borrowSub", "(JJJI)J", true);
                    yield false;
                }
                case OVERFLOW_SUB -> {
                    call3(u, "overflowSub", "(JJJI)J", true);
                    yield false;
                }
                case LOAD -> {
                    inlineLoad(in[0], size);
                    store(o[0]);
                    yield true;
                }
                case STORE -> {
                    mv.visitVarInsn(ALOAD, M);
                    load(in[0]);
                    pushInt(mv, size);
                    load(in[1]);
                    mv.visitMethodInsn(INVOKEVIRTUAL, MEM, "write", "(JIJ)V", false);
                    yield true;
                }
                case JUMP, CALL -> {
                    pushLong(mv, k[0]);
                    mv.visitVarInsn(LSTORE, NEXT);
                    yield false;
                }
                case BRANCH -> {
                    Label no = new Label();
                    Label done = new Label();
                    load(in[0]);
                    mv.visitInsn(LCONST_0);
                    mv.visitInsn(LCMP);
                    mv.visitJumpInsn(IFEQ, no);
                    pushLong(mv, k[0]);
                    mv.visitJumpInsn(GOTO, done);
                    mv.visitLabel(no);
                    pushLong(mv, k[1]);
                    mv.visitLabel(done);
                    mv.visitVarInsn(LSTORE, NEXT);
                    yield false;
                }
                case EXIT_IF -> {
                    Label stay = new Label();
                    load(in[0]);
                    mv.visitInsn(LCONST_0);
                    mv.visitInsn(LCMP);
                    mv.visitJumpInsn(IFEQ, stay);
                    pushLong(mv, k[0]);
                    mv.visitVarInsn(LSTORE, NEXT);
                    mv.visitJumpInsn(GOTO, control);
                    mv.visitLabel(stay);
                    yield false;
                }
                case JUMP_IND, CALL_IND, RET -> {
                    load(in[0]);
                    mv.visitVarInsn(LSTORE, NEXT);
                    yield false;
                }
                case FENCE -> false;
                case RDTSC, CPUID, RDRAND, RDPKRU, RDMSR, PORT_IN, WRMSR, PORT_OUT, PRIVILEGED, SYSREG_WRITE, INVLPG,
                        FAULT -> {
                    delegate(i, n, u, false, control);
                    yield true;
                }
                case SYSCALL, SYSRET, IRET, HLT, SYSTEM_OP -> {
                    delegate(i, n, u, leaves(u.kind()), control);
                    yield true;
                }
            };
        }

        private void delegate(int i, int n, Uop u, boolean leaves, Label control) {
            long key = ((long) i << 16) | n;
            int d = delegatedIndex.get(key);
            spill();
            mv.visitVarInsn(ALOAD, R);
            pushInt(mv, d);
            mv.visitVarInsn(ALOAD, S);
            mv.visitMethodInsn(INVOKEVIRTUAL, RT, "delegate", "(I[J)J", false);
            if (leaves) {
                mv.visitVarInsn(LSTORE, NEXT);
                reload();
                mv.visitJumpInsn(GOTO, control);
            } else {
                mv.visitInsn(POP2);
                reload();
            }
        }

        /** The TLB fast path inline; a miss or a page-crossing access calls MonitorMemory.read. */
        private void inlineLoad(int addr, int size) {
            Label slow = new Label();
            Label done = new Label();
            load(addr);
            mv.visitVarInsn(LSTORE, VA);
            mv.visitVarInsn(LLOAD, VA);
            mv.visitIntInsn(BIPUSH, 12);
            mv.visitInsn(LUSHR);
            mv.visitVarInsn(LSTORE, VPN);
            mv.visitVarInsn(LLOAD, VPN);
            mv.visitInsn(L2I);
            pushInt(mv, MonitorMemory.SLOTS - 1);
            mv.visitInsn(IAND);
            mv.visitVarInsn(ISTORE, SLOT);
            mv.visitVarInsn(ALOAD, TAGS);
            mv.visitVarInsn(ILOAD, SLOT);
            mv.visitInsn(LALOAD);
            mv.visitVarInsn(LLOAD, VPN);
            mv.visitInsn(LCMP);
            mv.visitJumpInsn(IFNE, slow);
            mv.visitVarInsn(LLOAD, VA);
            mv.visitInsn(L2I);
            pushInt(mv, 0xFFF);
            mv.visitInsn(IAND);
            mv.visitInsn(DUP);
            mv.visitVarInsn(ISTORE, OFF);
            pushInt(mv, 4096 - size);
            mv.visitJumpInsn(IF_ICMPGT, slow);
            mv.visitVarInsn(ALOAD, PAGES);
            mv.visitVarInsn(ILOAD, SLOT);
            mv.visitInsn(AALOAD);
            mv.visitVarInsn(ILOAD, OFF);
            String bb = "java/nio/ByteBuffer";
            switch (size) {
                case 1 -> {
                    mv.visitMethodInsn(INVOKEVIRTUAL, bb, "get", "(I)B", false);
                    mv.visitInsn(I2L);
                    pushLong(mv, 0xFFL);
                    mv.visitInsn(LAND);
                }
                case 2 -> {
                    mv.visitMethodInsn(INVOKEVIRTUAL, bb, "getShort", "(I)S", false);
                    mv.visitInsn(I2L);
                    pushLong(mv, 0xFFFFL);
                    mv.visitInsn(LAND);
                }
                case 4 -> {
                    mv.visitMethodInsn(INVOKEVIRTUAL, bb, "getInt", "(I)I", false);
                    mv.visitInsn(I2L);
                    pushLong(mv, 0xFFFF_FFFFL);
                    mv.visitInsn(LAND);
                }
                default -> mv.visitMethodInsn(INVOKEVIRTUAL, bb, "getLong", "(I)J", false);
            }
            mv.visitJumpInsn(GOTO, done);
            mv.visitLabel(slow);
            mv.visitVarInsn(ALOAD, M);
            mv.visitVarInsn(LLOAD, VA);
            pushInt(mv, size);
            mv.visitMethodInsn(INVOKEVIRTUAL, MEM, "read", "(JI)J", false);
            mv.visitLabel(done);
        }

        private void binary(Uop u, int op) {
            load(u.in()[0]);
            load(u.in()[1]);
            mv.visitInsn(op);
            store(u.out()[0]);
        }

        private void shift(Uop u, int op) {
            load(u.in()[0]);
            load(u.in()[1]);
            mv.visitInsn(L2I);
            mv.visitInsn(op);
            store(u.out()[0]);
        }

        private void call1(Uop u, String method, String desc, boolean sized) {
            load(u.in()[0]);
            if (sized) {
                pushInt(mv, u.size());
            }
            sem(method, desc);
            store(u.out()[0]);
        }

        private void call2(Uop u, String method, String desc, boolean sized) {
            load(u.in()[0]);
            load(u.in()[1]);
            if (sized) {
                pushInt(mv, u.size());
            }
            sem(method, desc);
            store(u.out()[0]);
        }

        private void call3(Uop u, String method, String desc, boolean sized) {
            load(u.in()[0]);
            load(u.in()[1]);
            load(u.in()[2]);
            if (sized) {
                pushInt(mv, u.size());
            }
            sem(method, desc);
            store(u.out()[0]);
        }

        private void sem(String method, String desc) {
            mv.visitMethodInsn(INVOKESTATIC, SEM, method, desc, false);
        }
    }
}
