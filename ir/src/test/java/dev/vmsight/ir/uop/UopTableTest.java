package dev.vmsight.ir.uop;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The µop table and its documentation stay in step. */
class UopTableTest {
    @Test
    void everyUopKindIsDocumentedAsAnEquationInTheReadme() throws Exception {
        Path root = Path.of(System.getProperty("vmsight.root", "..")).toAbsolutePath();
        String readme = Files.readString(root.resolve("ir/README.md"));
        for (UopKind k : UopKind.values()) {
            assertTrue(readme.contains("| `" + k.name() + "` |"), "ir/README.md has no table row for " + k);
        }
    }

    @Test
    void tableRowsAreConsistent() {
        for (UopKind k : UopKind.values()) {
            if (k.has(UopKind.Flag.COND_BRANCH) || k.has(UopKind.Flag.INDIRECT)) {
                assertTrue(k.inputs() >= 1, k + " decides on an input");
            }
            if (k.has(UopKind.Flag.WRITES)) {
                assertTrue(k.has(UopKind.Flag.SIDE_EFFECT), k + " writes memory: must be a side effect");
            }
            if (k.outputs() == 0) {
                assertTrue(k.has(UopKind.Flag.SIDE_EFFECT) || k.has(UopKind.Flag.BLOCK_END), k + " has no output and no effect");
            }
        }
    }
}
