package dev.vmsight.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class HookWatchTest {
    private static final Instant T = Instant.parse("2026-12-05T10:00:00Z");
    private static final HookWatch.Finding CODE = new HookWatch.Finding(Alert.Kind.CODE_HOOK, "code:0x1", "patched", Map.of("function", "f"));
    private static final HookWatch.Finding DISPATCH = new HookWatch.Finding(Alert.Kind.DISPATCH_HOOK, "dispatch:0x2->0x3", "hooked", Map.of());

    @Test
    void raisedOnceClearedWhenGoneAndOnlyForTheKindsLookedAt() {
        HookWatch w = new HookWatch("g");
        List<Alert> a = w.update(T, List.of(CODE), EnumSet.of(Alert.Kind.CODE_HOOK));
        assertEquals(1, a.size());
        assertEquals(Alert.State.RAISED, a.get(0).state());
        assertEquals("f", a.get(0).details().get("function"));
        assertTrue(w.update(T, List.of(CODE, CODE), EnumSet.of(Alert.Kind.CODE_HOOK)).isEmpty(), "still there: no new alert");
        assertEquals(1, w.update(T, List.of(DISPATCH), EnumSet.of(Alert.Kind.DISPATCH_HOOK)).size());
        assertTrue(w.update(T, List.of(), EnumSet.noneOf(Alert.Kind.class)).isEmpty(), "a cycle that did not look clears nothing");
        List<Alert> cleared = w.update(T, List.of(), EnumSet.of(Alert.Kind.CODE_HOOK));
        assertEquals(1, cleared.size());
        assertEquals(Alert.State.CLEARED, cleared.get(0).state());
        assertEquals("code:0x1", cleared.get(0).key());
        assertEquals(1, w.active(), "the dispatch hook stays until a cycle that ran pslist misses it");
    }
}
