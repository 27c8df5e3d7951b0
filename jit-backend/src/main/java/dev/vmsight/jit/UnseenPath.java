package dev.vmsight.jit;

import dev.vmsight.ir.uop.Site;

import java.util.List;
import java.util.stream.Collectors;

/**
 * A run left the paths training saw: the control site chose a successor that no merged trace
 * took. The monitor stops rather than guess (a wrong answer without warning is the worst outcome
 * for a security tool).
 */
public final class UnseenPath extends RuntimeException {
    private final transient Site site;
    private final long observed;
    private final List<Long> expected;

    public UnseenPath(Site site, long observed, List<Long> expected) {
        super("unseen path at " + site + ": next rip 0x" + Long.toHexString(observed) + ", training saw "
                + expected.stream().map(a -> "0x" + Long.toHexString(a)).collect(Collectors.joining(", ", "[", "]")),
                null, false, false);
        this.site = site;
        this.observed = observed;
        this.expected = List.copyOf(expected);
    }

    public Site site() { return site; }

    public long observed() { return observed; }

    public List<Long> expected() { return expected; }
}
