package dev.vmsight.vmi.profile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KernelProfileTest {

    /** pahole -F btf -C task_struct,list_head of Debian's 6.1.0-56 vmlinux, cut to the members around the ones read. */
    static String paholeOutput() throws IOException {
        try (InputStream in = KernelProfileTest.class.getResourceAsStream("/profile/pahole-task_struct-6.1.0-56.txt")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void readsTopLevelAndAnonymousMembersAtTheirOffsets() throws IOException {
        KernelProfile p = KernelProfile.parsePahole("6.1.0-56", paholeOutput());
        assertEquals(2192, p.offset("task_struct", "tasks"));
        assertEquals(2416, p.offset("task_struct", "pid"));
        assertEquals(2420, p.offset("task_struct", "tgid"));
        assertEquals(2976, p.offset("task_struct", "comm"), "an array member");
        assertEquals(2432, p.offset("task_struct", "real_parent"), "a pointer member");
        assertEquals(4968, p.offset("task_struct", "rcu"), "a member of an anonymous union, at its offset in task_struct");
        assertEquals(0, p.offset("list_head", "next"));
        assertEquals(8, p.offset("list_head", "prev"));
        assertEquals(9792, p.size("task_struct"));
        assertEquals(16, p.size("list_head"));
    }

    @Test
    void aMissingMemberIsNamed() throws IOException {
        KernelProfile p = KernelProfile.parsePahole("6.1.0-56", paholeOutput());
        var e = assertThrows(KernelProfile.ProfileException.class, () -> p.offset("task_struct", "no_such_member"));
        assertTrue(e.getMessage().contains("task_struct.no_such_member"), e.getMessage());
    }

    @Test
    void aMissingStructureIsNamed() throws IOException {
        String onlyTask = paholeOutput().split("struct list_head \\{")[0];
        var e = assertThrows(KernelProfile.ProfileException.class, () -> KernelProfile.parsePahole("k", onlyTask));
        assertTrue(e.getMessage().contains("no struct list_head"), e.getMessage());
    }

    @Test
    void aTruncatedStructureIsRefused() throws IOException {
        String cut = paholeOutput().replace("\t/* size: 9792, cachelines: 153, members: 252 */\n", "");
        var e = assertThrows(KernelProfile.ProfileException.class, () -> KernelProfile.parsePahole("k", cut));
        assertTrue(e.getMessage().contains("task_struct ends without its size"), e.getMessage());
    }

    @Test
    void writesAndReadsBack(@TempDir Path dir) throws IOException {
        KernelProfile p = KernelProfile.parsePahole("6.1.0-56", paholeOutput());
        Path file = dir.resolve("profile.properties");
        p.write(file);
        KernelProfile back = KernelProfile.read(file);
        assertEquals(p.values(), back.values());
        assertEquals("6.1.0-56", back.kernel());
        Files.writeString(file, Files.readString(file).replace("task_struct.tgid=2420", "task_struct.tgid=0x974"));
        var e = assertThrows(KernelProfile.ProfileException.class, () -> KernelProfile.read(file));
        assertTrue(e.getMessage().contains("task_struct.tgid"), e.getMessage());
    }
}
