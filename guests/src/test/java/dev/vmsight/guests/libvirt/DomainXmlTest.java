package dev.vmsight.guests.libvirt;

import static org.junit.jupiter.api.Assertions.*;

import dev.vmsight.guests.GuestConfig;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.xpath.XPath;
import javax.xml.xpath.XPathFactory;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;

/** The domain XML is well-formed and says what the lab needs (checked with XPath, not string search). */
class DomainXmlTest {
    @Test
    void domainHasSharedFileRamDirectKernelBootAgentChannelAndSerialLog() throws Exception {
        GuestConfig c = new GuestConfig("lab&<1>", Path.of("/k/vmlinuz"), Path.of("/i/initramfs.cpio.gz"), 256, 2, false, 7,
                Path.of("/run/x"));
        Document d = DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(new ByteArrayInputStream(DomainXml.of(c, Path.of("/run/x/serial.log")).getBytes(StandardCharsets.UTF_8)));
        XPath x = XPathFactory.newInstance().newXPath();
        assertEquals("qemu", x.evaluate("/domain/@type", d));
        assertEquals("lab&<1>", x.evaluate("/domain/name", d));
        assertEquals("256", x.evaluate("/domain/memory[@unit='MiB']", d));
        assertEquals("2", x.evaluate("/domain/vcpu", d));
        assertEquals("file", x.evaluate("/domain/memoryBacking/source/@type", d));
        assertEquals("shared", x.evaluate("/domain/memoryBacking/access/@mode", d));
        assertEquals("/k/vmlinuz", x.evaluate("/domain/os/kernel", d));
        assertEquals("/i/initramfs.cpio.gz", x.evaluate("/domain/os/initrd", d));
        assertEquals(c.kernelCommandLine(), x.evaluate("/domain/os/cmdline", d));
        assertEquals("org.qemu.guest_agent.0", x.evaluate("/domain/devices/channel[@type='unix']/target[@type='virtio']/@name", d));
        assertEquals("/run/x/serial.log", x.evaluate("/domain/devices/serial[@type='file']/source/@path", d));
    }
}
