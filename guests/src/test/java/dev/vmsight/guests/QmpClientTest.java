package dev.vmsight.guests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * QmpClient against scripted QMP peers: over a unix socket, and over a character device (a
 * pseudo-terminal standing in for a security VM's virtio-serial port, whose QMP session outlives
 * our opens and greets only once).
 */
@Timeout(60)
class QmpClientTest {
    private static final Duration T = Duration.ofSeconds(5);

    @TempDir
    Path dir;

    /** A QMP peer that answers each command after a stale answer (another id) and an event. */
    private Thread serve(ServerSocketChannel server) {
        Thread t = new Thread(() -> {
            try (SocketChannel c = server.accept()) {
                OutputStream out = Channels.newOutputStream(c);
                BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(c), StandardCharsets.UTF_8));
                out.write("{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n".getBytes(StandardCharsets.UTF_8));
                String line;
                while ((line = in.readLine()) != null) {
                    JsonNode req = JsonLineChannel.JSON.readTree(line);
                    String id = req.path("id").asText();
                    String answer = switch (req.path("execute").asText()) {
                        case "query-status" -> "{\"return\": {\"status\": \"running\"}, \"id\": \"" + id + "\"}";
                        case "nope" -> "{\"error\": {\"class\": \"CommandNotFound\", \"desc\": \"The command nope has not been found\"}, \"id\": \"" + id + "\"}";
                        default -> "{\"return\": {}, \"id\": \"" + id + "\"}";
                    };
                    out.write(("{\"return\": {\"status\": \"stale\"}, \"id\": \"vmsight-0\"}\n"
                            + "{\"event\": \"RESUME\", \"timestamp\": {}}\n" + answer + "\n").getBytes(StandardCharsets.UTF_8));
                    out.flush();
                }
            } catch (Exception ignored) {
                // the client closed
            }
        });
        t.setDaemon(true);
        t.start();
        return t;
    }

    @Test
    void onlyTheAnswerCarryingTheCommandsIdIsTaken() throws Exception {
        Path sock = dir.resolve("qmp.sock");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(sock));
            serve(server);
            try (QmpClient qmp = QmpClient.connect(sock, T)) {
                assertEquals("running", qmp.execute("query-status", null, T).path("status").asText());
                QmpClient.QmpError e = assertThrows(QmpClient.QmpError.class, () -> qmp.execute("nope", null, T));
                assertEquals("CommandNotFound", e.errorClass());
                assertTrue(e.getMessage().contains("'nope'") && e.getMessage().contains(sock.toString()), e.getMessage());
            }
        }
    }

    /**
     * A pty's slave is a character device, as a virtio-serial port is. The peer (python3 on the
     * master) never greets and refuses qmp_capabilities as QEMU does once negotiated: the session
     * of an earlier open. Two connects share the one open device.
     */
    @Test
    void overACharacterDeviceTheSessionOfAnEarlierOpenIsTakenAsItIs() throws Exception {
        Path ptyName = dir.resolve("pty");
        String peer = """
                import os, pty, tty, json, sys
                m, s = pty.openpty()
                tty.setraw(s)
                open(sys.argv[1] + ".part", "w").write(os.ttyname(s))
                os.rename(sys.argv[1] + ".part", sys.argv[1])
                buf = b""
                while True:
                    buf += os.read(m, 4096)
                    while b"\\n" in buf:
                        line, buf = buf.split(b"\\n", 1)
                        req = json.loads(line)
                        if req["execute"] == "qmp_capabilities":
                            ans = {"error": {"class": "CommandNotFound", "desc": "Capabilities negotiation is already complete, command ignored"}}
                        else:
                            ans = {"return": {"status": "paused"}}
                        ans["id"] = req["id"]
                        os.write(m, (json.dumps({"return": {}, "id": "vmsight-0"}) + "\\n" + json.dumps(ans) + "\\n").encode())
                """;
        Process p = new ProcessBuilder("python3", "-c", peer, ptyName.toString()).redirectErrorStream(true).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (!Files.exists(ptyName) && System.nanoTime() < deadline) Thread.sleep(20);
            Path port = Path.of(Files.readString(ptyName).strip());
            assertTrue(VirtioPorts.isPort(port), port + " is a character device");
            try (QmpClient first = QmpClient.connect(port, T)) {
                assertEquals("paused", first.execute("query-status", null, T).path("status").asText());
            }
            try (QmpClient again = QmpClient.connect(port, T)) {       // the device stayed open for the next connect; no greeting awaited
                assertEquals("paused", again.execute("query-status", null, T).path("status").asText());
            }
        } finally {
            p.destroyForcibly();
        }
    }
}
