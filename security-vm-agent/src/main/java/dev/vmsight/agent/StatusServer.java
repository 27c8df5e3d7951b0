package dev.vmsight.agent;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The agent's HTTP endpoints on a loopback address (the JDK's HttpServer): {@code /metrics} in
 * Prometheus text format and {@code /health}, a JSON status per guest (what it is doing or
 * waiting for). 200 while every guest is watched, 503 otherwise.
 */
final class StatusServer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpServer server;

    StatusServer(String host, int port, AgentMetrics metrics, Supplier<Map<String, GuestStatus>> status) {
        try {
            server = HttpServer.create(new InetSocketAddress(host, port), 16);
        } catch (IOException e) {
            throw new AgentConfig.AgentConfigException("cannot listen on " + host + ":" + port + " for /metrics: " + e.getMessage());
        }
        server.createContext("/metrics", ex -> send(ex, 200, "text/plain; version=0.0.4; charset=utf-8", metrics.scrape()));
        server.createContext("/health", ex -> {
            ObjectNode o = JSON.createObjectNode();
            boolean healthy = true;
            ObjectNode guests = o.putObject("guests");
            for (Map.Entry<String, GuestStatus> e : status.get().entrySet()) {
                GuestStatus s = e.getValue();
                ObjectNode g = guests.putObject(e.getKey());
                g.put("state", s.state());
                g.put("detail", s.detail());
                g.put("last_cycle", s.lastCycle() == null ? null : s.lastCycle().toString());
                g.put("cycles", s.cycles());
                g.put("hidden_processes", s.hiddenProcesses());
                g.put("hooks", s.hooks());
                healthy &= s.state().equals("watching");
            }
            o.put("status", healthy ? "ok" : "degraded");
            send(ex, healthy ? 200 : 503, "application/json", o.toPrettyString() + "\n");
        });
        server.setExecutor(null);
        server.start();
    }

    int port() {
        return server.getAddress().getPort();
    }

    private static void send(HttpExchange ex, int code, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        ex.sendResponseHeaders(code, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
