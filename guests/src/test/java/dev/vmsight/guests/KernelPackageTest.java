package dev.vmsight.guests;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class KernelPackageTest {

    @Test
    void namesRoundTrip() {
        KernelPackage k = KernelPackage.parse("linux-image-6.1.0-56-cloud-amd64");
        assertEquals(KernelPackage.of("56", "cloud-amd64"), k);
        assertEquals("linux-image-6.1.0-56-cloud-amd64", k.packageName());
        assertEquals("6.1.0-56-cloud-amd64", k.release());
        assertEquals("linux-image-6.1.0-56-rt-amd64", k.withFlavor("rt-amd64").packageName());
    }

    @Test
    void anyVersionedImagePackageDebianServes() {
        KernelPackage k = KernelPackage.parse("linux-image-6.12.118+deb12-amd64-unsigned");
        assertEquals("6.12.118+deb12-amd64", k.release());
        assertEquals("linux-headers-6.12.118+deb12-amd64", k.headersPackage());
        assertEquals("6.12.118+deb12-cloud-amd64", KernelPackage.parse("linux-image-6.12.118+deb12-cloud-amd64").release());
        for (String bad : new String[] {"linux-image-amd64", "linux-image-6.12.118+deb12-amd64-dbg", "linux-headers-6.1.0-56-amd64",
                "linux-image-6.12-amd64-signed-template", "linux-image-6.1.0-56-amd64; rm -rf /", "linux-image-6.1.0-56-arm64"}) {
            assertThrows(GuestException.class, () -> KernelPackage.parse(bad), bad);
        }
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
        assertTrue(assertThrows(GuestException.class, () -> KernelPackage.parse("linux-image-amd64")).getMessage()
                .contains("wrong kernel package name 'linux-image-amd64'"));
    }

    @Test
    void instanceNamesMustBeFileNames() {
        assertEquals("lab-1", LabLayout.checkName("lab-1"));
        assertThrows(GuestException.class, () -> LabLayout.checkName("../x"));
        assertThrows(GuestException.class, () -> LabLayout.checkName(""));
    }
}
