package dev.vmsight.cli;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code vmsight crossval getpid} on the lab corpus: every held-out answer classified, none wrong, CSV and PNG written. */
@Tag("lab")
class CrossvalCommandLabTest {
    @TempDir
    Path dir;

    @Test
    @Timeout(900)
    void getpidIsNeverWrong() throws Exception {
        CommandLine cl = Vmsight.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute("crossval", "getpid", "--traces", "2", "--heldout", "1", "--subsets", "2",
                "--policies", "strict,virtuoso", "--out", dir.toString());
        System.out.print(out);
        assertEquals(0, exit, err.toString());
        List<String> csv = Files.readAllLines(dir.resolve("getpid.csv"));
        assertEquals(1 + 2 * 2 * 2, csv.size(), "header + k(2) x subsets(2) x policies(2) x held-out(1)");
        assertTrue(csv.stream().skip(1).noneMatch(l -> l.contains(",WRONG,")), String.join("\n", csv));
        assertTrue(csv.stream().skip(1).allMatch(l -> l.contains(",CORRECT,")), String.join("\n", csv));
        BufferedImage png = ImageIO.read(dir.resolve("getpid.png").toFile());
        assertTrue(png.getWidth() >= 480 && png.getHeight() == 360);
    }
}
