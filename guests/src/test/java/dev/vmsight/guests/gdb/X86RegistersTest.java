package dev.vmsight.guests.gdb;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** The QEMU 7.2 x86-64 'g' layout (gdb-xml/i386-64bit.xml order); real values are checked in GdbStubLabTest. */
class X86RegistersTest {

    @Test
    void fieldsComeFromTheirOffsets() {
        ByteBuffer b = ByteBuffer.allocate(X86Registers.G_PACKET_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 16; i++) b.putLong(0x1000 + i);          // rax rbx rcx rdx rsi rdi rbp rsp r8..r15
        b.putLong(0x401670);                                         // rip
        b.putInt(0x246);                                             // eflags
        for (int i = 0; i < 6; i++) b.putInt(0x10 + i);              // cs ss ds es fs gs
        b.putLong(0x7f00_0000_1000L).putLong(0xffff_8880_0000_0000L).putLong(0x42); // fs_base gs_base k_gs_base
        b.putLong(0x80050033L).putLong(0x5).putLong(0x6d4a000L).putLong(0x3006f0L).putLong(0); // cr0 cr2 cr3 cr4 cr8
        b.putLong(0xd01);                                            // efer: SCE LME LMA NXE
        b.putInt(604, 0x1f80);                                       // mxcsr after x87 (112) and xmm (256)
        X86Registers r = X86Registers.parseHex(HexFormat.of().formatHex(b.array()));
        assertEquals(0x1000, r.rax());
        assertEquals(0x1005, r.rdi());
        assertEquals(0x1007, r.rsp());
        assertEquals(0x100f, r.r15());
        assertEquals(0x401670, r.rip());
        assertEquals(0x246, r.eflags());
        assertEquals(0x10, r.cs());
        assertEquals(0x15, r.gs());
        assertEquals(0x7f00_0000_1000L, r.fsBase());
        assertEquals(0x42, r.kernelGsBase());
        assertEquals(0x6d4a000L, r.cr3());
        assertEquals(0x3006f0L, r.cr4());
        assertTrue(r.longMode());
        assertEquals(0x1f80, r.mxcsr());
        assertEquals(0, r.cpl());
    }

    @Test
    void wrongSizeIsRejectedWithTheStubsAnswer() {
        GdbException e = assertThrows(GdbException.class, () -> X86Registers.parseHex("E14"));
        assertTrue(e.getMessage().contains("expected 608"), e.getMessage());
    }
}
