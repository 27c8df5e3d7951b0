package dev.vmsight.guests;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class KernelPackageTest {

    @Test
    void namesRoundTrip() {
        KernelPackage k = KernelPackage.parse("linux-image-6.1.0-56-cloud-amd64");
        assertEquals(new KernelPackage(56, "cloud-amd64"), k);
        assertEquals("linux-image-6.1.0-56-cloud-amd64", k.packageName());
    }

    @Test
    void wrongAbiIsOneClearLine() {
        GuestException e = assertThrows(GuestException.class, () -> KernelPackage.of("56-amd64", "amd64"));
        assertEquals("wrong kernel ABI '56-amd64': expected a number like 56 (as in linux-image-6.1.0-56-amd64)", e.getMessage());
    }

    @Test
    void wrongFlavorAndNameAreRejected() {
        assertTrue(assertThrows(GuestException.class, () -> KernelPackage.of("56", "arm64")).getMessage()
                .contains("unknown kernel flavor 'arm64'"));
        assertTrue(assertThrows(GuestException.class, () -> KernelPackage.parse("linux-image-5.10.0-9-amd64")).getMessage()
                .contains("wrong kernel package name 'linux-image-5.10.0-9-amd64'"));
    }

    @Test
    void instanceNamesMustBeFileNames() {
        assertEquals("lab-1", LabLayout.checkName("lab-1"));
        assertThrows(GuestException.class, () -> LabLayout.checkName("../x"));
        assertThrows(GuestException.class, () -> LabLayout.checkName(""));
    }
}
