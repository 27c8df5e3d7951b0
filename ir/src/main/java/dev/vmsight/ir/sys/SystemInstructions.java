package dev.vmsight.ir.sys;

import dev.vmsight.ir.decode.Mnemonic;
import dev.vmsight.ir.interp.CpuFault;
import dev.vmsight.ir.interp.MachineState;
import dev.vmsight.ir.interp.Memory;
import dev.vmsight.ir.interp.SystemLayer;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.uop.Uop;

/**
 * The system µops (SDM vol. 2 pseudo-code of each instruction): syscall, sysretq, iretq, hlt,
 * invlpg, control-register and selector writes, wrmsr of MSRs the state does not hold, port
 * output and the opaque state operations (fxsave, xsave, lgdt...). CPL checks that the lifter
 * emits as PRIVILEGED µops are done before these run.
 */
final class SystemInstructions implements SystemLayer {

    /** The SYSTEM_OP µop names its instruction by Mnemonic ordinal; values() would copy the array per µop. */
    private static final Mnemonic[] MNEMONICS = Mnemonic.values();
    private static final int RCX = 1, RSP = 4, R11 = 11;
    private static final int CS = Loc.SEL0 + 1, SS = Loc.SEL0 + 2, FS = Loc.SEL0 + 4, GS = Loc.SEL0 + 5;
    private static final long RF = 1L << 16;

    private final SystemMachine machine;
    private final Mmu mmu;
    private long xcr0 = 3;
    private boolean halted;

    SystemInstructions(SystemMachine machine, Mmu mmu) {
        this.machine = machine;
        this.mmu = mmu;
    }

    long xcr0() { return xcr0; }

    boolean halted() { return halted; }

    void clearHalt() { halted = false; }

    @Override
    public void execute(Uop uop, long[] in, MachineState s, Memory memory) {
        switch (uop.kind()) {
            case SYSCALL -> syscall(s, uop.imm()[0]);
            case SYSRET -> sysret(s);
            case IRET -> iret(s);
            case HLT -> {
                halted = true;   // no interrupt will come while single-stepping: continue after it
                s.setRip(uop.imm()[0]);
            }
            case INVLPG -> mmu.invalidatePage(in[0]);
            case SYSREG_WRITE -> sysregWritten(s, uop.out()[0], in[0]);
            case WRMSR, PORT_OUT -> { }   // MSRs outside the state and ports have no modelled effect
            case SYSTEM_OP -> systemOp(s, MNEMONICS[(int) uop.imm()[0]], in[0]);
            default -> throw new IllegalArgumentException("µop " + uop + " is not a system-layer µop");
        }
    }

    /** SYSCALL (SDM vol. 2B): RCX = next RIP, R11 = RFLAGS, CS/SS from STAR[47:32], RIP = LSTAR, RFLAGS &= ~SFMASK. */
    private void syscall(MachineState s, long next) {
        if ((s.get(Loc.EFER) & Mmu.EFER_SCE) == 0) {
            throw new CpuFault(CpuFault.UD, 0, 0, "#UD: syscall with EFER.SCE clear at rip 0x" + Long.toHexString(s.rip()));
        }
        long flags = s.rflags();
        s.setGpr(RCX, next);
        s.setGpr(R11, flags & ~RF);
        s.setRflags(flags & ~s.get(Loc.SFMASK) & ~RF);
        long sel = s.get(Loc.STAR) >>> 32 & 0xFFFF;
        s.set(CS, sel & 0xFFFC);
        s.set(SS, sel + 8 & 0xFFFF);
        s.setRip(s.get(Loc.LSTAR));
    }

    /** SYSRET with REX.W (SDM vol. 2B): RIP = RCX, RFLAGS = R11 & 3C7FD7H | 2, CS/SS from STAR[63:48] with RPL 3. */
    private void sysret(MachineState s) {
        if ((s.get(Loc.EFER) & Mmu.EFER_SCE) == 0) {
            throw new CpuFault(CpuFault.UD, 0, 0, "#UD: sysret with EFER.SCE clear");
        }
        long rcx = s.gpr(RCX);
        if (!mmu.format().isCanonical(rcx)) {
            throw new CpuFault(CpuFault.GP, 0, 0, "#GP(0): sysret to non-canonical rcx 0x" + Long.toHexString(rcx));
        }
        long sel = s.get(Loc.STAR) >>> 48 & 0xFFFF;
        s.setRflags(s.gpr(R11) & 0x3C7FD7L | 2);
        s.set(CS, sel + 16 & 0xFFFF | 3);
        s.set(SS, sel + 8 & 0xFFFF | 3);
        s.setRip(rcx);
    }

    /** IRETQ in 64-bit mode (SDM vol. 2A): pops RIP, CS, RFLAGS, RSP, SS, to the same or an outer level. */
    private void iret(MachineState s) {
        int cpl = s.cpl();
        if (s.get(Loc.NT) != 0) {
            throw new CpuFault(CpuFault.GP, 0, 0, "#GP(0): iret with NT set (task return) is not valid in 64-bit mode");
        }
        long rsp = s.gpr(RSP);
        long rip = mmu.read(rsp, 8);
        long cs = mmu.read(rsp + 8, 8) & 0xFFFF;
        long flags = mmu.read(rsp + 16, 8);
        long newRsp = mmu.read(rsp + 24, 8);
        long ss = mmu.read(rsp + 32, 8) & 0xFFFF;
        int rpl = (int) cs & 3;
        if ((cs & ~3) == 0 || rpl < cpl) {
            throw new CpuFault(CpuFault.GP, cs & ~3, 0, "#GP: iret to code selector 0x" + Long.toHexString(cs) + " from CPL " + cpl);
        }
        if (!mmu.format().isCanonical(rip)) {
            throw new CpuFault(CpuFault.GP, 0, 0, "#GP(0): iret to non-canonical rip 0x" + Long.toHexString(rip));
        }
        long old = s.rflags();
        // always: CF PF AF ZF SF TF DF OF NT RF AC ID; IF when CPL <= IOPL; IOPL only at CPL 0
        long changeable = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x4000 | 0x10000 | 0x40000 | 0x200000;
        if (cpl <= (old >>> 12 & 3)) {
            changeable |= 0x200;
        }
        if (cpl == 0) {
            changeable |= 0x3000;
        }
        s.setRflags(old & ~changeable | flags & changeable);
        s.set(CS, cs);
        s.set(SS, ss);
        if (rpl > cpl) {
            // to an outer level: data selectors the new CPL may not use become null, bases kept (as QEMU)
            for (int seg : new int[]{Loc.SEL0, Loc.SEL0 + 3, FS, GS}) {
                if (!machine.usableAt((int) s.get(seg), rpl)) {
                    s.set(seg, 0);
                }
            }
        }
        s.setGpr(RSP, newRsp);
        s.setRip(rip);
    }

    /** After the interpreter wrote {@code loc}: the write's side effects on translation and segment bases. */
    private void sysregWritten(MachineState s, int loc, long value) {
        switch (loc) {
            case Loc.CR0 -> {
                s.set(Loc.CR0, value | 0x10);   // ET is hard-wired to 1
                mmu.flushAll();
            }
            case Loc.CR3 -> {
                boolean noFlush = (s.get(Loc.CR4) & Mmu.CR4_PCIDE) != 0 && value < 0;
                if (noFlush) {
                    s.set(Loc.CR3, value & Long.MAX_VALUE);   // bit 63 is a command, not stored
                } else {
                    mmu.cr3Written();
                }
            }
            case Loc.CR4 -> mmu.flushAll();
            case FS -> s.set(Loc.FS_BASE, machine.segmentBase((int) value));
            case GS -> s.set(Loc.GS_BASE, machine.segmentBase((int) value));
            default -> { }   // CR2, CR8, SS, DS, ES: the value is all the state there is
        }
    }

    private void systemOp(MachineState s, Mnemonic m, long address) {
        switch (m) {
            case LGDT -> machine.setTables(machine.tables().withGdt(mmu.read(address + 2, 8), (int) mmu.read(address, 2)));
            case LIDT -> machine.setTables(machine.tables().withIdt(mmu.read(address + 2, 8), (int) mmu.read(address, 2)));
            case SGDT -> {
                mmu.write(address, 2, machine.tables().gdtLimit());
                mmu.write(address + 2, 8, machine.tables().gdtBase());
            }
            case SIDT -> {
                mmu.write(address, 2, machine.tables().idtLimit());
                mmu.write(address + 2, 8, machine.tables().idtBase());
            }
            case FXSAVE -> saveLegacy(s, address);
            case FXRSTOR -> restoreLegacy(s, address);
            case XSAVE, XSAVEOPT, XSAVEC, XSAVES -> {
                long rfbm = requestedFeatures(s);
                if ((rfbm & 2) != 0) {
                    saveLegacy(s, address);
                }
                long bv = mmu.read(address + 512, 8);
                mmu.write(address + 512, 8, bv & ~rfbm | rfbm & 2);
                if (m == Mnemonic.XSAVEC || m == Mnemonic.XSAVES) {
                    mmu.write(address + 520, 8, rfbm | 1L << 63);   // compacted format
                }
            }
            case XRSTOR, XRSTORS -> {
                long rfbm = requestedFeatures(s);
                long bv = mmu.read(address + 512, 8);
                if ((rfbm & 2) != 0) {
                    if ((bv & 2) != 0) {
                        restoreLegacy(s, address);
                    } else {
                        for (int i = 0; i < 32; i++) {
                            s.set(Loc.XMM0 + i, 0);   // SSE state to its initial configuration
                        }
                        s.set(Loc.MXCSR, mmu.read(address + 24, 4));
                    }
                }
            }
            case XSETBV -> {
                if ((s.gpr(RCX) & 0xFFFF_FFFFL) != 0 || (s.gpr(0) & 1) == 0) {
                    throw new CpuFault(CpuFault.GP, 0, 0, "#GP(0): xsetbv of XCR" + (s.gpr(RCX) & 0xFFFF_FFFFL)
                            + " = 0x" + Long.toHexString(s.gpr(0)));
                }
                xcr0 = (s.gpr(2) & 0xFFFF_FFFFL) << 32 | s.gpr(0) & 0xFFFF_FFFFL;
            }
            case WRPKRU -> {
                if ((s.gpr(RCX) & 0xFFFF_FFFFL) != 0 || (s.gpr(2) & 0xFFFF_FFFFL) != 0) {
                    throw new CpuFault(CpuFault.GP, 0, 0, "#GP(0): wrpkru with ecx 0x" + Long.toHexString(s.gpr(RCX) & 0xFFFF_FFFFL)
                            + ", edx 0x" + Long.toHexString(s.gpr(2) & 0xFFFF_FFFFL));
                }
                // PKRU is not held: rdpkru takes its value from the environment (QEMU's, in training)
            }
            case CLTS -> s.set(Loc.CR0, s.get(Loc.CR0) & ~8L);
            case INVPCID -> mmu.flushAll();
            case WBINVD, INVD, WBNOINVD, FNINIT, VERW -> { }   // caches, x87 and buffer clearing: no modelled state
            default -> throw new UnsupportedOperationException(m + " at rip 0x" + Long.toHexString(s.rip())
                    + " is not emulated by the system layer");
        }
    }

    private long requestedFeatures(MachineState s) {
        return ((s.gpr(2) & 0xFFFF_FFFFL) << 32 | s.gpr(0) & 0xFFFF_FFFFL) & xcr0;
    }

    /** The SSE part of the FXSAVE layout: FCW/MXCSR/MXCSR_MASK and xmm0-15 at 160 (x87 registers are not modelled). */
    private void saveLegacy(MachineState s, long a) {
        mmu.write(a, 2, 0x37F);
        mmu.write(a + 24, 4, s.get(Loc.MXCSR));
        mmu.write(a + 28, 4, 0xFFFF);
        for (int i = 0; i < 16; i++) {
            mmu.write(a + 160 + 16L * i, 8, s.get(Loc.XMM0 + 2 * i));
            mmu.write(a + 168 + 16L * i, 8, s.get(Loc.XMM0 + 2 * i + 1));
        }
    }

    private void restoreLegacy(MachineState s, long a) {
        s.set(Loc.MXCSR, mmu.read(a + 24, 4));
        for (int i = 0; i < 16; i++) {
            s.set(Loc.XMM0 + 2 * i, mmu.read(a + 160 + 16L * i, 8));
            s.set(Loc.XMM0 + 2 * i + 1, mmu.read(a + 168 + 16L * i, 8));
        }
    }
}
