package dev.vmsight.ir.lift;

import dev.vmsight.ir.decode.DecodeException;
import dev.vmsight.ir.decode.Decoder;
import dev.vmsight.ir.decode.Instruction;
import dev.vmsight.ir.decode.Mnemonic;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Lifts every instruction of the Debian kernel's .text (linear sweep, as objdump does): no
 * lifter bug (only LiftException for the documented unsupported instructions), every mnemonic
 * the training windows executed lifts everywhere it occurs, and at most 1 in 10,000
 * instructions is not lifted.
 */
@Tag("lab")
class KernelLiftLabTest {
    /** The mnemonics executed by the measured kernel training windows (issue 3). */
    private static final Set<Mnemonic> TRAINING = EnumSet.of(Mnemonic.MOV, Mnemonic.MOVZX, Mnemonic.MOVSX,
            Mnemonic.MOVSXD, Mnemonic.MOVABS, Mnemonic.PUSH, Mnemonic.POP, Mnemonic.LEA, Mnemonic.ADD, Mnemonic.SUB,
            Mnemonic.ADC, Mnemonic.SBB, Mnemonic.INC, Mnemonic.DEC, Mnemonic.NEG, Mnemonic.NOT, Mnemonic.AND,
            Mnemonic.OR, Mnemonic.XOR, Mnemonic.TEST, Mnemonic.CMP, Mnemonic.SHL, Mnemonic.SHR, Mnemonic.SAR,
            Mnemonic.ROL, Mnemonic.ROR, Mnemonic.SHRD, Mnemonic.MUL, Mnemonic.IMUL, Mnemonic.DIV, Mnemonic.IDIV,
            Mnemonic.BT, Mnemonic.BTS, Mnemonic.BTR, Mnemonic.BSF, Mnemonic.BSR, Mnemonic.TZCNT, Mnemonic.BSWAP,
            Mnemonic.CMOVCC, Mnemonic.SETCC, Mnemonic.JCC, Mnemonic.JMP, Mnemonic.CALL, Mnemonic.RET, Mnemonic.LEAVE,
            Mnemonic.XCHG, Mnemonic.XADD, Mnemonic.CMPXCHG, Mnemonic.CMPXCHG16B, Mnemonic.CWDE, Mnemonic.CDQE,
            Mnemonic.CQO, Mnemonic.MOVS, Mnemonic.STOS, Mnemonic.CLD, Mnemonic.NOP, Mnemonic.LFENCE, Mnemonic.MFENCE,
            Mnemonic.PUSHF, Mnemonic.CLI, Mnemonic.STI, Mnemonic.SWAPGS, Mnemonic.SYSCALL, Mnemonic.SYSRET,
            Mnemonic.IRET, Mnemonic.RDTSC, Mnemonic.WRMSR, Mnemonic.FXSAVE);

    @Test
    void everyKernelInstructionOfTheTrainingMnemonicsLifts() throws Exception {
        Path root = Path.of(System.getProperty("vmsight.root", "..")).toAbsolutePath().normalize();
        Properties env = new Properties();
        try (var r = Files.newBufferedReader(root.resolve("scripts/lab.env"))) {
            env.load(r);
        }
        Path vmlinux = root.resolve(".lab/kernels/linux-image-6.1.0-" + env.getProperty("VMSIGHT_KERNEL_ABI") + "-"
                + env.getProperty("VMSIGHT_KERNEL_FLAVOR") + "/vmlinux");
        if (!Files.isRegularFile(vmlinux)) {
            fail(vmlinux + " is missing: run scripts/fetch-kernel.sh (scripts/setup.sh does) before the lab tests");
        }
        byte[] elf = Files.readAllBytes(vmlinux);
        ByteBuffer b = ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN);
        long shoff = b.getLong(0x28);
        int shentsize = b.getShort(0x3A) & 0xFFFF;
        int shnum = b.getShort(0x3C) & 0xFFFF;
        long strOff = b.getLong((int) (shoff + (long) (b.getShort(0x3E) & 0xFFFF) * shentsize + 0x18));
        long total = 0;
        long lifted = 0;
        long undecodable = 0;
        Map<Mnemonic, Integer> notLifted = new EnumMap<>(Mnemonic.class);
        Map<Mnemonic, Integer> seen = new EnumMap<>(Mnemonic.class);
        boolean found = false;
        for (int i = 0; i < shnum; i++) {
            int h = (int) (shoff + (long) i * shentsize);
            int nameAt = (int) strOff + b.getInt(h);
            int end = nameAt;
            while (elf[end] != 0) {
                end++;
            }
            if (!".text".equals(new String(elf, nameAt, end - nameAt, StandardCharsets.US_ASCII))) {
                continue;
            }
            found = true;
            long addr = b.getLong(h + 0x10);
            int off = (int) b.getLong(h + 0x18);
            int stop = off + (int) b.getLong(h + 0x20);
            for (int p = off; p < stop; ) {
                Instruction insn;
                try {
                    insn = Decoder.decode(elf, p, addr + (p - off));
                } catch (DecodeException e) {
                    undecodable++;
                    p++;
                    continue;
                }
                total++;
                seen.merge(insn.mnemonic(), 1, Integer::sum);
                try {
                    Lifter.lift(insn);
                    lifted++;
                } catch (LiftException e) {
                    notLifted.merge(insn.mnemonic(), 1, Integer::sum);
                }
                p += insn.length();
            }
        }
        assertTrue(found, vmlinux + " has no .text section");
        System.out.printf("kernel lift: %,d of %,d decoded .text instructions lifted (%.4f%%), %,d undecodable bytes skipped;"
                + " not lifted: %s%n", lifted, total, 100.0 * lifted / total, undecodable, notLifted);
        for (Mnemonic m : TRAINING) {
            assertTrue(seen.containsKey(m), "the kernel has no " + m + "? (decoder regression)");
            assertEquals(null, notLifted.get(m), m + " failed to lift at some kernel sites");
        }
        assertTrue(total - lifted <= total / 10_000, "too many kernel instructions not lifted: " + notLifted);
    }
}
