package dev.vmsight.guests.gdb;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class GdbClientTest {

    @Test
    void readsTheCurrentThreadOfAQcAnswer() {
        assertEquals(1, GdbClient.currentThread("QC01"));
        assertEquals(0x1a, GdbClient.currentThread("QC1a"));
        assertEquals(2, GdbClient.currentThread("QCp1.02"), "multiprocess form");
        assertEquals(-1, GdbClient.currentThread(""), "a stub without qC");
        assertEquals(-1, GdbClient.currentThread("QCzz"));
    }
}
