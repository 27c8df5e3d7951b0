package dev.vmsight.jit.run;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * How one {@code vmsight run} ended, with its exit code: an answer (0), a path training never saw
 * (3), a structured guest error — unreadable memory, a CPU fault in the monitor (4), the budget
 * (5). Errors of the user's setup (missing file, unreachable guest, another kernel build) are not
 * outcomes: they are one "vmsight: ..." line and exit code 2.
 */
public sealed interface RunOutcome {

    int exitCode();

    /** Text for people. */
    String toText();

    /** One JSON object: {"outcome": ..., ...}. */
    String toJson();

    /** The monitor reached END; {@code micros} is the run alone (not opening the source). */
    record Answered(Answer answer, String backend, long steps, long micros) implements RunOutcome {
        public int exitCode() { return 0; }

        public String toText() { return answer.toText(); }

        public String toJson() {
            Map<String, String> f = new LinkedHashMap<>();
            f.put("outcome", Json.string("answer"));
            f.put("program", Json.string(answer.program()));
            f.put("kind", Json.string(answer.kind().name().toLowerCase(java.util.Locale.ROOT)));
            f.put("answer", answer.toJsonValue());
            f.put("backend", Json.string(backend));
            f.put("steps", Long.toString(steps));
            f.put("micros", Long.toString(micros));
            return Json.object(f);
        }
    }

    /** A control site took a successor no training run took ({@code uop} -1 when the backend does not say which µop). */
    record UnseenPath(long site, int uop, long observed, List<Long> expected) implements RunOutcome {
        public int exitCode() { return 3; }

        public String toText() {
            return "unseen path at 0x" + Long.toHexString(site) + (uop >= 0 ? " (µop " + uop + ")" : "") + ": went to 0x" + Long.toHexString(observed)
                    + ", training saw " + String.join(", ", expected.stream().map(e -> "0x" + Long.toHexString(e)).toList())
                    + " — retrain with a run that takes this path";
        }

        public String toJson() {
            Map<String, String> f = new LinkedHashMap<>();
            f.put("outcome", Json.string("unseen_path"));
            f.put("site", Json.string("0x" + Long.toHexString(site)));
            f.put("uop", Integer.toString(uop));
            f.put("observed", Json.string("0x" + Long.toHexString(observed)));
            f.put("expected", "[" + String.join(",", expected.stream().map(e -> Json.string("0x" + Long.toHexString(e))).toList()) + "]");
            return Json.object(f);
        }
    }

    /** The run failed on the guest's data or on a µop it cannot run; {@code kind} names which. */
    record Failed(String kind, long site, String message) implements RunOutcome {
        public int exitCode() { return 4; }

        public String toText() { return kind.toLowerCase(java.util.Locale.ROOT) + " error at 0x" + Long.toHexString(site) + ": " + message; }

        public String toJson() {
            Map<String, String> f = new LinkedHashMap<>();
            f.put("outcome", Json.string("error"));
            f.put("kind", Json.string(kind.toLowerCase(java.util.Locale.ROOT)));
            f.put("site", Json.string("0x" + Long.toHexString(site)));
            f.put("message", Json.string(message));
            return Json.object(f);
        }
    }

    /** The step or time budget ran out (a cyclic list, a wild loop in corrupted memory). */
    record OverBudget(String message, long steps, long millis) implements RunOutcome {
        public int exitCode() { return 5; }

        public String toText() { return "budget exceeded: " + message; }

        public String toJson() {
            Map<String, String> f = new LinkedHashMap<>();
            f.put("outcome", Json.string("budget_exceeded"));
            f.put("message", Json.string(message));
            f.put("steps", Long.toString(steps));
            f.put("millis", Long.toString(millis));
            return Json.object(f);
        }
    }
}
