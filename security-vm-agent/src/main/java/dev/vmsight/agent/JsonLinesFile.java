package dev.vmsight.agent;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Predicate;

/**
 * A JSON-lines file another process appends to (the security VM's alerts.jsonl and cycles.jsonl,
 * written by QEMU from the VM's ports), read as it grows: only complete lines count, since the
 * writer may be midway through the last one.
 */
public final class JsonLinesFile {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private int seen;

    public JsonLinesFile(Path file) {
        this.file = file;
    }

    public Path file() {
        return file;
    }

    /** Every complete line so far. */
    public List<JsonNode> lines() {
        if (!Files.exists(file)) return List.of();
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
        List<JsonNode> out = new ArrayList<>();
        int n = 0;
        for (String l : text.substring(0, text.lastIndexOf('\n') + 1).split("\n")) {
            n++;
            if (l.isBlank()) continue;
            try {
                out.add(JSON.readTree(l));
            } catch (JsonProcessingException e) {
                throw new IllegalStateException(file + " line " + n + " is not JSON: " + l, e);
            }
        }
        return out;
    }

    /**
     * Waits until {@code count} lines match {@code which} and returns them, handing each line not
     * seen before to {@code onNew} as it arrives; empty when {@code timeout} passes first.
     */
    public List<JsonNode> await(Predicate<JsonNode> which, int count, Duration timeout, Consumer<JsonNode> onNew) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            List<JsonNode> all = lines();
            for (JsonNode l : all.subList(Math.min(seen, all.size()), all.size())) onNew.accept(l);
            seen = Math.max(seen, all.size());
            List<JsonNode> hits = all.stream().filter(which).toList();
            if (hits.size() >= count) return hits;
            if (System.nanoTime() > deadline) return List.of();
            Thread.sleep(250);
        }
    }
}
