package dev.vmsight.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BundlesTest {
    @TempDir
    Path dir;

    @Test
    void candidatesAreTheProgramsBundlesDataPolicyFirstThenMoreRuns() throws IOException {
        for (String f : List.of("pslist-virtuoso-4.vmprog", "pslist-data-3.vmprog", "pslist-data-12.vmprog", "getpsfile-data-12.vmprog",
                "pslist-data-runs0+2+3.vmprog", "notes.txt")) {
            Files.writeString(dir.resolve(f), "x");
        }
        Bundles b = new Bundles(dir);
        assertEquals(List.of("pslist-data-12.vmprog", "pslist-data-3.vmprog", "pslist-virtuoso-4.vmprog"),
                b.candidates("pslist").stream().map(Bundles.Bundle::toString).toList());
        assertEquals(List.of("getpsfile-data-12.vmprog"), b.candidates("getpsfile").stream().map(Bundles.Bundle::toString).toList());
    }

    @Test
    void aBundleIsKeptUntilItsFileChangesThenReadAgain() throws IOException {
        Path f = dir.resolve("pslist-data-4.vmprog");
        Files.writeString(f, "first");
        Bundles b = new Bundles(dir);
        Bundles.Bundle first = b.candidates("pslist").get(0);
        assertSame(first, b.candidates("pslist").get(0), "unchanged: the same bundle (compiled once)");
        Files.writeString(f, "retrained, longer");
        assertNotSame(first, b.candidates("pslist").get(0), "a retrained file is a new bundle");
        Files.delete(f);
        assertEquals(List.of(), b.candidates("pslist"));
    }
}
