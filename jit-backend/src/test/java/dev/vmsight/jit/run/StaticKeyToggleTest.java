package dev.vmsight.jit.run;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** Which code differences are a jump label flipped at run time, and which are hooks (KernelCodeCheck.staticKeyToggle). */
class StaticKeyToggleTest {
    private static byte[] hex(String s) { return HexFormat.of().parseHex(s); }

    @Test
    void nopAndJumpIntoTheKernelImageAreTheTwoStatesOfAStaticKey() {
        // crng_make_state+0x24 on 6.1.0-56: trained "jmp +0x92", live NOP5 once crng_is_ready turned on
        assertTrue(KernelCodeCheck.staticKeyToggle(hex("e992000000"), hex("0f1f440000"), 0xffffffff816b9134L));
        assertTrue(KernelCodeCheck.staticKeyToggle(hex("0f1f440000"), hex("e992000000"), 0xffffffff816b9134L));
        assertTrue(KernelCodeCheck.staticKeyToggle(hex("6690"), hex("eb10"), 0xffffffff81000000L));
    }

    @Test
    void aCallOrAJumpIntoModuleSpaceIsAHook() {
        // an ftrace hook: filldir64's fentry NOP became a call
        assertFalse(KernelCodeCheck.staticKeyToggle(hex("0f1f440000"), hex("e82bfbea3e"), 0xffffffff813824d0L));
        // a jmp from the kernel image to 0xffffffffc0000000 + x: module space
        long site = 0xffffffff813824d0L;
        int rel = (int) (0xffffffffc0010000L - (site + 5));
        String jmp = String.format("e9%02x%02x%02x%02x", rel & 0xff, (rel >>> 8) & 0xff, (rel >>> 16) & 0xff, (rel >>> 24) & 0xff);
        assertFalse(KernelCodeCheck.staticKeyToggle(hex("0f1f440000"), hex(jmp), site));
        // other bytes entirely, or lengths that differ
        assertFalse(KernelCodeCheck.staticKeyToggle(hex("4889e5"), hex("cc89e5"), site));
        assertFalse(KernelCodeCheck.staticKeyToggle(hex("6690"), hex("e992000000"), site));
    }
}
