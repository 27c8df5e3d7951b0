package dev.vmsight.merger;

import dev.vmsight.ir.interp.MachineState;
import dev.vmsight.ir.interp.Memory;
import dev.vmsight.ir.interp.SystemLayer;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.uop.Uop;

/**
 * The system µops a monitor may execute, with their SDM effects on the registers only: syscall
 * (rcx = return address, r11 = rflags, rflags masked by SFMASK, CS/SS from STAR, rip = LSTAR),
 * sysretq (rip = rcx, rflags from r11, user CS/SS from STAR), iretq (pops its five-word frame),
 * control-register writes and invlpg (the state already holds the value; the next access uses it).
 * Anything else (hlt, port output, wrmsr of unknown MSRs...) is refused: a monitor must not act on
 * the machine. The one system layer of both backends (the reference executor and compiled
 * monitors), so they agree by construction.
 */
public final class MonitorSystemLayer implements SystemLayer {

    public static final MonitorSystemLayer INSTANCE = new MonitorSystemLayer();

    private MonitorSystemLayer() {}

    @Override
    public void execute(Uop uop, long[] inputs, MachineState s, Memory memory) {
        switch (uop.kind()) {
            case SYSCALL -> {
                s.set(Loc.GPR0 + 1, uop.imm()[0]);
                s.set(Loc.GPR0 + 11, s.rflags());
                s.setRflags(s.rflags() & ~s.get(Loc.SFMASK));
                s.set(Loc.SEL0 + 1, (s.get(Loc.STAR) >>> 32) & 0xFFFC);
                s.set(Loc.SEL0 + 2, ((s.get(Loc.STAR) >>> 32) & 0xFFFC) + 8);
                s.set(Loc.RIP, s.get(Loc.LSTAR));
            }
            case SYSRET -> {
                long base = (s.get(Loc.STAR) >>> 48) & 0xFFFF;
                s.set(Loc.RIP, s.get(Loc.GPR0 + 1));
                s.setRflags((s.get(Loc.GPR0 + 11) & 0x3C7FD7L) | 2);
                s.set(Loc.SEL0 + 1, (base + 16) | 3);
                s.set(Loc.SEL0 + 2, (base + 8) | 3);
            }
            case IRET -> {
                long rsp = s.get(Loc.GPR0 + 4);
                s.set(Loc.RIP, memory.read(rsp, 8));
                s.set(Loc.SEL0 + 1, memory.read(rsp + 8, 8) & 0xFFFF);
                s.setRflags(memory.read(rsp + 16, 8));
                s.set(Loc.GPR0 + 4, memory.read(rsp + 24, 8));
                s.set(Loc.SEL0 + 2, memory.read(rsp + 32, 8) & 0xFFFF);
            }
            case SYSREG_WRITE, INVLPG -> {
                // the value is in the state; the next access translates with it
            }
            default -> throw new UnsupportedOperationException("system µop '" + uop + "' at rip 0x" + Long.toHexString(s.rip())
                    + " is not available to a monitor (it would act on the machine)");
        }
    }
}
