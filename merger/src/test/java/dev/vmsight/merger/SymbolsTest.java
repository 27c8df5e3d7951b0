package dev.vmsight.merger;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** Function names for listings: the nearest symbol at or below an address, moved with a slid kernel image. */
class SymbolsTest {

    @Test
    void aSlidImageKeepsItsNamesAndUserCodeStaysPut() {
        Symbols nokaslr = Symbols.ofFunctions(Map.of("kfree", 0xffffffff8132f000L, "main", 0x401000L));
        long slide = 0x15000000L;
        Symbols slid = nokaslr.slid(slide);
        assertEquals("kfree", slid.function(0xffffffff8132f010L + slide).getValue());
        assertEquals(0xffffffff8132f000L + slide, slid.function(0xffffffff8132f010L + slide).getKey());
        assertEquals("main", slid.function(0x401010L).getValue(), "user addresses do not move with the kernel image");
    }
}
