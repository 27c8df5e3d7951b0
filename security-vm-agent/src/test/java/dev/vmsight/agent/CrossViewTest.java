package dev.vmsight.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class CrossViewTest {
    private static final Instant T0 = Instant.parse("2026-12-05T10:00:00Z");

    private static Instant t(int s) { return T0.plusSeconds(s); }

    @Test
    void aPidHiddenInTwoConsecutiveCyclesIsOneAlertWithItsNameAndFirstSeen() {
        CrossView v = new CrossView("g", 2);
        Set<Long> guest = Set.of(1L, 2L, 3L);
        assertTrue(v.update(t(0), Set.of(1L, 2L, 3L, 42L), guest, guest, Map.of(42L, "evil")).isEmpty(), "one cycle is not enough");
        List<Alert> a = v.update(t(10), Set.of(1L, 2L, 3L, 42L), guest, guest, Map.of(42L, "evil"));
        assertEquals(1, a.size());
        assertEquals(Alert.Kind.HIDDEN_PROCESS, a.get(0).kind());
        assertEquals(Alert.State.RAISED, a.get(0).state());
        assertEquals("42", a.get(0).details().get("pid"));
        assertEquals("evil", a.get(0).details().get("name"));
        assertEquals(t(0).toString(), a.get(0).details().get("first_seen"));
        assertTrue(v.update(t(20), Set.of(1L, 2L, 3L, 42L), guest, guest, Map.of(42L, "evil")).isEmpty(), "raised once, not every cycle");
        assertEquals(Set.of(42L), v.hidden());
    }

    @Test
    void aPidInEitherGuestViewIsNoSuspect() {
        CrossView v = new CrossView("g", 2);
        for (int i = 0; i < 5; i++) {
            // born after the first ls, seen by the monitor and by the second ls; or gone before the second
            assertTrue(v.update(t(i), Set.of(1L, 7L, 8L), Set.of(1L, 8L), Set.of(1L, 7L), Map.of()).isEmpty());
        }
        assertTrue(v.suspects().isEmpty());
    }

    @Test
    void churnNeverRepeatsASuspectSoItNeverAlerts() {
        CrossView v = new CrossView("g", 2);
        Set<Long> guest = Set.of(1L);
        for (int i = 0; i < 100; i++) {
            long transient_ = 1000 + i;   // a process alive only while the guest was paused, a new PID each cycle
            assertTrue(v.update(t(i), Set.of(1L, transient_), guest, guest, Map.of(transient_, "true")).isEmpty());
        }
    }

    @Test
    void aReusedPidWithAnotherNameStartsAgain() {
        CrossView v = new CrossView("g", 2);
        Set<Long> guest = Set.of(1L);
        v.update(t(0), Set.of(1L, 50L), guest, guest, Map.of(50L, "sh"));
        assertTrue(v.update(t(1), Set.of(1L, 50L), guest, guest, Map.of(50L, "cat")).isEmpty(), "another process under the same PID");
        assertEquals(1, v.update(t(2), Set.of(1L, 50L), guest, guest, Map.of(50L, "cat")).size());
    }

    @Test
    void anAlertClearsWhenTheGuestShowsThePidAgainOrItIsGone() {
        CrossView v = new CrossView("g", 1);
        Set<Long> guest = Set.of(1L);
        assertEquals(2, v.update(t(0), Set.of(1L, 9L, 10L), guest, guest, Map.of()).size(), "K=1: both raised at once");
        List<Alert> cleared = v.update(t(1), Set.of(1L, 9L), Set.of(1L, 9L), Set.of(1L, 9L), Map.of());
        assertEquals(2, cleared.size());
        assertTrue(cleared.stream().allMatch(a -> a.state() == Alert.State.CLEARED));
        assertTrue(cleared.stream().anyMatch(a -> a.details().get("reason").contains("shows it again") && a.key().equals("pid:9")));
        assertTrue(cleared.stream().anyMatch(a -> a.details().get("reason").contains("no longer finds it") && a.key().equals("pid:10")));
        assertTrue(v.hidden().isEmpty());
    }
}
