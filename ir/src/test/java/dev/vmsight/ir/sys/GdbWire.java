package dev.vmsight.ir.sys;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * The few gdb remote-protocol packets the QEMU oracle test needs ($packet#checksum, '+' acks),
 * over QEMU's unix-socket gdbstub, each read bounded by a deadline. (The project's full client
 * lives in guests, which ir may not depend on.)
 */
final class GdbWire implements AutoCloseable {
    private final SocketChannel channel;
    private final StringBuilder pending = new StringBuilder();
    private final long timeoutMillis;

    GdbWire(Path socket, long timeoutMillis) throws IOException {
        this.channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        this.channel.connect(UnixDomainSocketAddress.of(socket));
        this.channel.configureBlocking(false);
        this.timeoutMillis = timeoutMillis;
    }

    String command(String packet) throws IOException {
        int sum = 0;
        for (byte b : packet.getBytes(StandardCharsets.US_ASCII)) {
            sum += b & 0xFF;
        }
        write("$" + packet + "#" + String.format("%02x", sum & 0xFF));
        return reply(packet);
    }

    private void write(String s) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(s.getBytes(StandardCharsets.US_ASCII));
        while (b.hasRemaining()) {
            channel.write(b);
        }
    }

    private String reply(String packet) throws IOException {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        ByteBuffer in = ByteBuffer.allocate(8192);
        while (true) {
            int start = pending.indexOf("$");
            int hash = start < 0 ? -1 : pending.indexOf("#", start);
            if (hash >= 0 && pending.length() >= hash + 3) {
                String body = pending.substring(start + 1, hash);
                pending.delete(0, hash + 3);
                write("+");
                return body;
            }
            if (System.currentTimeMillis() > deadline) {
                throw new IOException("gdbstub: no reply to '" + packet + "' within " + timeoutMillis + " ms");
            }
            in.clear();
            int n = channel.read(in);
            if (n < 0) {
                throw new IOException("gdbstub closed the connection during '" + packet + "'");
            }
            if (n == 0) {
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted", e);
                }
            }
            pending.append(new String(in.array(), 0, n, StandardCharsets.ISO_8859_1));
        }
    }

    @Override
    public void close() throws IOException { channel.close(); }
}
