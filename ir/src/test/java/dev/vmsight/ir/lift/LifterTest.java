package dev.vmsight.ir.lift;

import dev.vmsight.ir.decode.Decoder;
import dev.vmsight.ir.uop.LiftedInstruction;
import dev.vmsight.ir.uop.Loc;
import dev.vmsight.ir.uop.Uop;
import dev.vmsight.ir.uop.UopKind;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Structural properties of lifting that the CPU oracle cannot see (dependencies, sites, errors). */
class LifterTest {
    private static LiftedInstruction lift(String hex) {
        return Lifter.lift(Decoder.decode(HexFormat.of().parseHex(hex), 0, 0x401000));
    }

    private static boolean uses(LiftedInstruction li, int loc) {
        return li.uops().stream().anyMatch(u -> Arrays.stream(u.uses()).anyMatch(x -> x == loc));
    }

    private static boolean defines(LiftedInstruction li, int loc) {
        return li.uops().stream().anyMatch(u -> Arrays.stream(u.defs()).anyMatch(x -> x == loc));
    }

    @Test
    void partialWritesUseTheOldValueAndFullWritesDoNot() {
        assertTrue(uses(lift("88c8"), Loc.GPR0), "mov al, cl merges into rax: uses rax");
        assertTrue(uses(lift("88cc"), Loc.GPR0), "mov ah, cl merges into rax");
        assertTrue(!uses(lift("89c8"), Loc.GPR0), "mov eax, ecx zero-extends: rax is not used");
        assertTrue(!uses(lift("4889c8"), Loc.GPR0), "mov rax, rcx");
    }

    @Test
    void eachFlagIsItsOwnLocationAndIncKeepsCarry() {
        LiftedInstruction add = lift("4801c8");   // add rax, rcx
        for (int f : new int[]{Loc.CF, Loc.PF, Loc.AF, Loc.ZF, Loc.SF, Loc.OF}) {
            assertTrue(defines(add, f), "add defines " + Loc.name(f));
        }
        LiftedInstruction inc = lift("48ffc0");   // inc rax
        assertTrue(!defines(inc, Loc.CF), "inc keeps CF");
        assertTrue(defines(inc, Loc.OF) && defines(inc, Loc.AF));
        LiftedInstruction jb = lift("7205");      // jb: reads only CF
        assertTrue(uses(jb, Loc.CF) && !uses(jb, Loc.ZF));
    }

    @Test
    void liftingIsDeterministicSoSitesAreStable() {
        assertEquals(lift("f0480fb10e").uops(), lift("f0480fb10e").uops());
        assertEquals(lift("4801c8").site(2), lift("4801c8").site(2));
    }

    @Test
    void memoryUopsCarrySizeAndSegment() {
        LiftedInstruction li = lift("65488b042510000000");   // mov rax, QWORD PTR gs:0x10
        Uop load = li.uops().stream().filter(u -> u.kind() == UopKind.LOAD).findFirst().orElseThrow();
        assertEquals(8, load.size());
        assertEquals(dev.vmsight.ir.decode.Register.GS, load.segment());
        assertTrue(uses(li, Loc.GS_BASE), "the address includes the GS base");
    }

    @Test
    void controlTransfersAreExplicit() {
        assertEquals(UopKind.BRANCH, last(lift("7405")).kind());
        assertEquals(UopKind.CALL, last(lift("e800000000")).kind());
        assertEquals(UopKind.RET, last(lift("c3")).kind());
        assertEquals(UopKind.JUMP_IND, last(lift("ffe0")).kind());
        assertEquals(UopKind.CALL_IND, last(lift("ffd0")).kind());
        assertEquals(UopKind.SYSCALL, last(lift("0f05")).kind());
    }

    @Test
    void unsupportedInstructionsNameAddressBytesAndMnemonic() {
        LiftException e = assertThrows(LiftException.class, () -> lift("0f00d8"));   // ltr ax
        assertTrue(e.getMessage().contains("ltr") && e.getMessage().contains("0x401000") && e.getMessage().contains("0f00d8"),
                e.getMessage());
    }

    private static Uop last(LiftedInstruction li) { return li.uops().get(li.uops().size() - 1); }
}
