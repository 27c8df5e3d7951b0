package dev.vmsight.agent;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One alert event: a finding raised or cleared on one guest. {@code key} identifies the finding
 * across cycles (the hidden PID, the patched address, the hooked site and target); {@code details}
 * are the facts a responder needs (name, first seen, bytes, function).
 */
public record Alert(Instant time, String guest, Kind kind, State state, String key, String summary, Map<String, String> details) {

    public enum Kind {
        /** a PID the out-of-guest process list holds and the guest's own /proc does not, K cycles running */
        HIDDEN_PROCESS,
        /** trained kernel code whose live bytes differ (an inline or ftrace hook) */
        CODE_HOOK,
        /**
         * an indirect call/jump/return on the trained path that went where training never saw it go:
         * into module code (a replaced function pointer; the run goes past it) or to other kernel code
         */
        DISPATCH_HOOK
    }

    public enum State { RAISED, CLEARED }

    private static final ObjectMapper JSON = new ObjectMapper();

    public Alert {
        details = Map.copyOf(new LinkedHashMap<>(details));
    }

    /** One JSON object on one line (the JSON-lines alert stream). */
    public String toJsonLine() {
        ObjectNode o = JSON.createObjectNode();
        o.put("time", time.toString());
        o.put("guest", guest);
        o.put("kind", kind.name().toLowerCase(java.util.Locale.ROOT));
        o.put("state", state.name().toLowerCase(java.util.Locale.ROOT));
        o.put("key", key);
        o.put("summary", summary);
        ObjectNode d = o.putObject("details");
        new java.util.TreeMap<>(details).forEach(d::put);
        return o.toString();
    }
}
