package dev.vmsight.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The agent's configuration, read from a TOML file (jackson-dataformat-toml) and validated: an
 * unknown key, a wrong type or a missing value is an {@link AgentConfigException} naming the key
 * (and the guest, for a {@code [[guest]]} table). Relative paths are taken from the file's folder.
 * The format, with its defaults, is in security-vm-agent/README.md.
 */
public record AgentConfig(Path bundles, Path symbols, Path alertsFile, boolean alertsToStdout, String metricsHost,
                          int metricsPort, Path cyclesFile, Duration interval, int hiddenAfter, Duration budget, long budgetSteps,
                          List<GuestEntry> guests) {

    /** Which monitors run by default: the process list and, for each PID it alone sees, the process's name. */
    public static final List<String> DEFAULT_MONITORS = List.of("pslist", "getpsfile");

    public AgentConfig {
        guests = List.copyOf(guests);
    }

    /** How the agent reaches one guest. */
    public sealed interface Access {
        /** A guest started by {@code vmsight lab boot} in the checkout {@code root} (null: the checkout vmsight runs from). */
        record Lab(Path root, String instance) implements Access { }

        /** A libvirt domain: memory through virDomainMemoryPeek, the guest's own view through qemuAgentCommand. */
        record Libvirt(String uri, String domain) implements Access { }

        /**
         * A QEMU guest by its sockets: a shared RAM file (memory-backend-file), QMP, and qemu-guest-agent's
         * chardev socket. In a security VM: the guest's RAM as an ivshmem device's BAR
         * ({@code /sys/bus/pci/devices/ADDR/resource2}) and QMP and the agent as virtio-serial ports.
         */
        record Qemu(Path ramFile, Path qmp, Path qga) implements Access { }
    }

    /** One {@code [[guest]]} table. */
    public record GuestEntry(String name, Access access, Duration interval, List<String> monitors, boolean pause) {
        public GuestEntry {
            monitors = List.copyOf(monitors);
        }
    }

    /** A configuration error a user can fix: the file and the key are in the message. */
    public static final class AgentConfigException extends RuntimeException {
        public AgentConfigException(String message) {
            super(message);
        }
    }

    private static final Set<String> TOP = Set.of("bundles", "symbols", "interval", "hidden_after", "budget_ms", "budget_steps",
            "alerts", "metrics", "guest");
    private static final Set<String> ALERTS = Set.of("file", "stdout");
    private static final Set<String> METRICS = Set.of("listen", "cycles_file");
    private static final Set<String> GUEST = Set.of("name", "lab", "lab_root", "libvirt", "domain", "ram_file", "ivshmem", "qmp", "qga",
            "interval", "monitors", "pause");
    private static final Pattern PCI_ADDRESS = Pattern.compile("[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]");
    private static final Set<String> PROGRAMS = Set.of("pslist", "getpsfile", "lsmod", "gettime", "getpid");
    private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h)");
    private static final Pattern LISTEN = Pattern.compile("([^:\\s]+):(\\d{1,5})");

    /** Reads and validates {@code file}. */
    public static AgentConfig load(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new AgentConfigException("cannot read agent config " + file + ": " + e.getMessage());
        }
        JsonNode root;
        try {
            root = new TomlMapper().readTree(text);
        } catch (IOException e) {
            throw new AgentConfigException(file + " is not valid TOML: " + e.getMessage().lines().findFirst().orElse(""));
        }
        Path base = file.toAbsolutePath().getParent();
        return parse(root, base, file.toString());
    }

    static AgentConfig parse(JsonNode root, Path base, String where) {
        Keys top = new Keys(root, where, "");
        top.only(TOP);
        Path bundles = base.resolve(top.string("bundles", null)).normalize();
        if (!Files.isDirectory(bundles)) {
            throw new AgentConfigException(where + ": bundles = \"" + top.string("bundles", null) + "\" is not a directory (" + bundles + ")");
        }
        String symbolsText = top.string("symbols", "");
        Path symbols = symbolsText.isEmpty() ? null : base.resolve(symbolsText).normalize();
        Duration interval = top.duration("interval", Duration.ofSeconds(10));
        int hiddenAfter = (int) top.integer("hidden_after", 2, 1, 100);
        Duration budget = Duration.ofMillis(top.integer("budget_ms", 2000, 1, 600_000));
        long budgetSteps = top.integer("budget_steps", 200_000_000L, 1, Long.MAX_VALUE);

        Keys alerts = top.table("alerts");
        alerts.only(ALERTS);
        String alertsText = alerts.string("file", "");
        Path alertsFile = alertsText.isEmpty() ? null : base.resolve(alertsText).normalize();
        boolean stdout = alerts.bool("stdout", true);

        Keys metrics = top.table("metrics");
        metrics.only(METRICS);
        String listen = metrics.string("listen", "127.0.0.1:9464");
        Matcher m = LISTEN.matcher(listen);
        if (!m.matches() || Integer.parseInt(m.group(2)) > 65535) {
            throw new AgentConfigException(where + ": metrics.listen = \"" + listen + "\" is not HOST:PORT (e.g. 127.0.0.1:9464; port 0 picks one)");
        }
        String cyclesText = metrics.string("cycles_file", "");
        Path cyclesFile = cyclesText.isEmpty() ? null : base.resolve(cyclesText).normalize();

        List<GuestEntry> guests = new ArrayList<>();
        JsonNode list = root.path("guest");
        if (!list.isArray() || list.isEmpty()) {
            throw new AgentConfigException(where + ": no [[guest]] table: name at least one guest to watch");
        }
        Set<String> names = new HashSet<>();
        for (JsonNode g : list) {
            Keys k = new Keys(g, where, "[[guest]] ");
            k.only(GUEST);
            String name = k.string("name", null);
            Keys named = new Keys(g, where, "[[guest]] '" + name + "' ");
            if (!names.add(name)) throw new AgentConfigException(where + ": two [[guest]] tables are named '" + name + "'");
            Access access;
            boolean lab = g.has("lab"), libvirt = g.has("libvirt"), qemu = g.has("ram_file"), ivshmem = g.has("ivshmem");
            if ((lab ? 1 : 0) + (libvirt ? 1 : 0) + (qemu ? 1 : 0) + (ivshmem ? 1 : 0) != 1) {
                throw new AgentConfigException(where + ": [[guest]] '" + name + "' needs exactly one of lab = \"INSTANCE\", "
                        + "libvirt = \"URI\" (with domain = \"NAME\"), ram_file = \"FILE\" or ivshmem = \"PCI ADDRESS\" (with qmp and qga)");
            }
            if (qemu || ivshmem) {
                Path ram;
                if (ivshmem) {
                    String address = named.string("ivshmem", null);
                    if (!PCI_ADDRESS.matcher(address).matches()) {
                        throw new AgentConfigException(where + ": [[guest]] '" + name + "' ivshmem = \"" + address
                                + "\" is not a PCI address like \"0000:00:10.0\"");
                    }
                    ram = Path.of("/sys/bus/pci/devices", address, "resource2");   // BAR 2 of ivshmem-plain: the shared memory
                } else {
                    ram = base.resolve(named.string("ram_file", null)).normalize();
                }
                access = new Access.Qemu(ram, base.resolve(named.string("qmp", null)).normalize(),
                        base.resolve(named.string("qga", null)).normalize());
            } else if (lab) {
                String labRoot = named.string("lab_root", "");
                access = new Access.Lab(labRoot.isEmpty() ? null : base.resolve(labRoot).normalize(), named.string("lab", null));
            } else {
                access = new Access.Libvirt(named.string("libvirt", null), named.string("domain", null));
            }
            List<String> monitors = named.strings("monitors", DEFAULT_MONITORS);
            for (String p : monitors) {
                if (!PROGRAMS.contains(p)) {
                    throw new AgentConfigException(where + ": [[guest]] '" + name + "' monitors: unknown program '" + p
                            + "' (one of " + new java.util.TreeSet<>(PROGRAMS) + ")");
                }
            }
            if (!monitors.contains("pslist")) {
                throw new AgentConfigException(where + ": [[guest]] '" + name + "' monitors must include pslist (the cross-view needs it)");
            }
            guests.add(new GuestEntry(name, access, named.duration("interval", interval), monitors, named.bool("pause", true)));
        }
        return new AgentConfig(bundles, symbols, alertsFile, stdout, m.group(1), Integer.parseInt(m.group(2)), cyclesFile, interval,
                hiddenAfter, budget, budgetSteps, guests);
    }

    /** Typed access to one TOML table, errors naming the key. */
    private record Keys(JsonNode node, String where, String table) {
        void only(Set<String> allowed) {
            if (node.isMissingNode()) return;
            if (!node.isObject()) throw new AgentConfigException(where + ": " + table + "must be a table");
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                String key = it.next().getKey();
                if (!allowed.contains(key)) {
                    throw new AgentConfigException(where + ": " + table + "unknown key '" + key + "' (allowed: "
                            + new java.util.TreeSet<>(allowed) + ")");
                }
            }
        }

        Keys table(String key) {
            JsonNode n = node.path(key);
            if (!n.isMissingNode() && !n.isObject()) throw new AgentConfigException(where + ": " + table + key + " must be a [" + key + "] table");
            return new Keys(n, where, "[" + key + "] ");
        }

        String string(String key, String dflt) {
            JsonNode n = node.path(key);
            if (n.isMissingNode()) {
                if (dflt == null) throw new AgentConfigException(where + ": " + table + "missing key '" + key + "'");
                return dflt;
            }
            if (!n.isTextual() || n.asText().isBlank()) {
                throw new AgentConfigException(where + ": " + table + key + " must be a non-empty string, not " + n);
            }
            return n.asText();
        }

        boolean bool(String key, boolean dflt) {
            JsonNode n = node.path(key);
            if (n.isMissingNode()) return dflt;
            if (!n.isBoolean()) throw new AgentConfigException(where + ": " + table + key + " must be true or false, not " + n);
            return n.asBoolean();
        }

        long integer(String key, long dflt, long min, long max) {
            JsonNode n = node.path(key);
            if (n.isMissingNode()) return dflt;
            if (!n.isIntegralNumber() || n.asLong() < min || n.asLong() > max) {
                throw new AgentConfigException(where + ": " + table + key + " must be an integer from " + min + " to " + max + ", not " + n);
            }
            return n.asLong();
        }

        Duration duration(String key, Duration dflt) {
            JsonNode n = node.path(key);
            if (n.isMissingNode()) return dflt;
            Matcher m = n.isTextual() ? DURATION.matcher(n.asText().strip()) : null;
            if (m == null || !m.matches()) {
                throw new AgentConfigException(where + ": " + table + key + " must be a duration like \"500ms\", \"10s\", \"5m\", not " + n);
            }
            long v = Long.parseLong(m.group(1));
            Duration d = switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(v);
                case "s" -> Duration.ofSeconds(v);
                case "m" -> Duration.ofMinutes(v);
                default -> Duration.ofHours(v);
            };
            if (d.isZero()) throw new AgentConfigException(where + ": " + table + key + " must be longer than 0");
            return d;
        }

        List<String> strings(String key, List<String> dflt) {
            JsonNode n = node.path(key);
            if (n.isMissingNode()) return dflt;
            if (!n.isArray() || n.isEmpty()) throw new AgentConfigException(where + ": " + table + key + " must be a non-empty array of strings, not " + n);
            List<String> out = new ArrayList<>();
            for (JsonNode e : n) {
                if (!e.isTextual()) throw new AgentConfigException(where + ": " + table + key + " must hold strings, not " + e);
                out.add(e.asText());
            }
            return out;
        }
    }
}
