package dev.vmsight.guests.libvirt;

import dev.vmsight.guests.GuestConfig;
import java.nio.file.Path;

/**
 * The libvirt domain of a lab guest: type 'qemu' (TCG; KVM is not usable here), direct kernel
 * boot, RAM in a shared file under libvirt's memory_backing_dir (so it can be mmapped while the
 * guest runs), the qemu-guest-agent channel, ttyS0 to a log file. QEMU runs as root without
 * relabelling (static DAC label) so libvirt never chowns the kernel, image or log in the checkout.
 */
final class DomainXml {
    static final String AGENT_CHANNEL = "org.qemu.guest_agent.0";

    private DomainXml() {
    }

    static String of(GuestConfig c, Path serialLog) {
        return """
            <domain type='qemu'>
              <name>%s</name>
              <description>vmsight lab guest</description>
              <memory unit='MiB'>%d</memory>
              <vcpu>%d</vcpu>%s
              <memoryBacking>
                <source type='file'/>
                <access mode='shared'/>
              </memoryBacking>
              <os>
                <type arch='x86_64' machine='pc'>hvm</type>
                <kernel>%s</kernel>
                <initrd>%s</initrd>
                <cmdline>%s</cmdline>
              </os>
              <features>
                <vmcoreinfo state='on'/>
              </features>
              <on_poweroff>destroy</on_poweroff>
              <on_reboot>destroy</on_reboot>
              <on_crash>destroy</on_crash>
              <devices>
                <serial type='file'>
                  <source path='%s'/>
                  <target port='0'/>
                </serial>
                <channel type='unix'>
                  <source mode='bind'/>
                  <target type='virtio' name='%s'/>
                </channel>
                <memballoon model='none'/>
              </devices>
              <seclabel type='static' model='dac' relabel='no'>
                <label>+0:+0</label>
              </seclabel>
            </domain>
            """.formatted(escape(c.name()), c.memoryMiB(), c.cpus(), cpu(c),
                escape(c.kernel().toAbsolutePath().toString()), escape(c.initramfs().toAbsolutePath().toString()),
                escape(c.kernelCommandLine()), escape(serialLog.toAbsolutePath().toString()), AGENT_CHANNEL);
    }

    /** The CPU model element: none for QEMU's default (libvirt's TCG default is the same model). */
    static String cpu(GuestConfig c) {
        if (c.cpuModel().equals(dev.vmsight.guests.GuestConfig.DEFAULT_CPU_MODEL)) return "";
        return "\n  <cpu mode='custom' match='exact' check='none'><model fallback='forbid'>" + escape(c.cpuModel()) + "</model></cpu>";
    }

    static String escape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (char ch : s.toCharArray()) {
            switch (ch) {
                case '&' -> b.append("&amp;");
                case '<' -> b.append("&lt;");
                case '>' -> b.append("&gt;");
                case '\'' -> b.append("&apos;");
                case '"' -> b.append("&quot;");
                default -> b.append(ch);
            }
        }
        return b.toString();
    }
}
