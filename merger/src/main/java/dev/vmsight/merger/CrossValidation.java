package dev.vmsight.merger;

import dev.vmsight.slicer.GuardPolicy;
import dev.vmsight.slicer.Slicer;
import dev.vmsight.tracer.trace.TraceFiles;
import dev.vmsight.tracer.trace.TraceReader;
import dev.vmsight.vmi.Budget;
import dev.vmsight.vmi.snapshot.Snapshot;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;

/**
 * Reliability by training-set size, after Virtuoso's figure: for k = 1..N, {@code subsets} random
 * k-subsets of the training runs are sliced under each policy, merged, and run on the held-out
 * runs' START snapshots; each run is classified against the guest's own answer (the held-out
 * trace's expected output).
 */
public final class CrossValidation {
    /** A corpus run: its trace and START snapshot. */
    public record Run(Path trace, Path snapshot) { }

    public enum Outcome { CORRECT, WRONG, UNSEEN_PATH, ERROR }

    /** One row: policy, k, subset number, held-out run index, outcome, detail. */
    public record Row(GuardPolicy policy, int k, int subset, int heldOut, Outcome outcome, String detail) { }

    private CrossValidation() { }

    public static List<Row> run(List<Run> training, List<Run> heldOut, List<GuardPolicy> policies, int subsets, long seed,
                                Optional<Path> binary, Duration runBudget) {
        if (training.isEmpty() || heldOut.isEmpty()) {
            throw new IllegalArgumentException("cross-validation needs training and held-out runs ("
                    + training.size() + " and " + heldOut.size() + ")");
        }
        List<byte[]> expected = new ArrayList<>();
        List<byte[]> inputs = new ArrayList<>();
        for (Run r : heldOut) {
            try (TraceReader t = TraceFiles.open(r.trace())) {
                expected.add(t.header().expectedOutput().bytes());
                inputs.add(heldOutInput(t.header()));
            }
        }
        Random random = new Random(seed);
        List<Row> rows = new ArrayList<>();
        for (int k = 1; k <= training.size(); k++) {
            for (int s = 0; s < subsets; s++) {
                List<Run> pool = new ArrayList<>(training);
                Collections.shuffle(pool, random);
                List<Run> subset = pool.subList(0, k);
                for (GuardPolicy policy : policies) {
                    MergedProgram program = train(subset, policy, binary);
                    ReferenceExecutor executor = new ReferenceExecutor(program);
                    for (int h = 0; h < heldOut.size(); h++) {
                        RunResult r;
                        try (Snapshot snap = Snapshot.open(heldOut.get(h).snapshot())) {
                            r = executor.run(snap, snap.registers(), inputs.get(h), Budget.of(100_000_000, runBudget));
                        }
                        rows.add(new Row(policy, k, s, h, classify(r, expected.get(h)), r instanceof RunResult.Answer a
                                ? a.text().strip().replace('\n', ' ') : r.toString()));
                    }
                }
            }
        }
        return rows;
    }

    /**
     * The input the held-out run was asked (getpsfile's PID, getdrvfile's base): without it the program would read
     * the input its training embedded and answer another question than the held-out guest's.
     */
    static byte[] heldOutInput(dev.vmsight.tracer.trace.TraceHeader header) {
        return header.input() == null || header.input().bytes() == null ? new byte[0] : header.input().bytes();
    }

    private static MergedProgram train(List<Run> subset, GuardPolicy policy, Optional<Path> binary) {
        List<TraceReader> traces = new ArrayList<>();
        try {
            for (Run r : subset) {
                traces.add(TraceFiles.open(r.trace()));
            }
            return Merger.merge(traces, SliceInput.of(Slicer.slice(traces, policy, binary))).program();
        } finally {
            traces.forEach(TraceReader::close);
        }
    }

    static Outcome classify(RunResult r, byte[] expected) {
        if (r instanceof RunResult.Answer a) {
            return Arrays.equals(a.bytes(), expected) ? Outcome.CORRECT : Outcome.WRONG;
        }
        return r instanceof RunResult.UnseenPath ? Outcome.UNSEEN_PATH : Outcome.ERROR;
    }

    public static void writeCsv(List<Row> rows, Path file) {
        StringBuilder b = new StringBuilder("policy,k,subset,heldout,outcome,detail\n");
        for (Row r : rows) {
            b.append(r.policy().name().toLowerCase(Locale.ROOT)).append(',').append(r.k()).append(',').append(r.subset())
                    .append(',').append(r.heldOut()).append(',').append(r.outcome()).append(",\"")
                    .append(r.detail().replace("\"", "'")).append("\"\n");
        }
        try {
            Files.writeString(file, b);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** Stacked bars per policy and k: the fraction of held-out runs correct / UnseenPath / error / wrong. */
    public static void writePng(List<Row> rows, List<GuardPolicy> policies, int maxK, String title, Path file) {
        int barW = 28;
        int groupW = policies.size() * (barW + 6) + 24;
        int w = Math.max(480, 80 + maxK * groupW + 40);
        int h = 360;
        int top = 50;
        int plotH = 230;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 13));
        g.drawString(title, 20, 22);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        Map<Outcome, Color> colors = new EnumMap<>(Outcome.class);
        colors.put(Outcome.CORRECT, new Color(0x2e7d32));
        colors.put(Outcome.UNSEEN_PATH, new Color(0xf9a825));
        colors.put(Outcome.ERROR, new Color(0x757575));
        colors.put(Outcome.WRONG, new Color(0xc62828));
        g.drawLine(60, top, 60, top + plotH);
        g.drawLine(60, top + plotH, w - 20, top + plotH);
        for (int p = 0; p <= 100; p += 25) {
            int y = top + plotH - plotH * p / 100;
            g.drawString(p + "%", 25, y + 4);
        }
        for (int k = 1; k <= maxK; k++) {
            int gx = 70 + (k - 1) * groupW;
            g.setColor(Color.BLACK);
            g.drawString("k=" + k, gx + groupW / 2 - 14, top + plotH + 30);
            for (int pi = 0; pi < policies.size(); pi++) {
                GuardPolicy policy = policies.get(pi);
                int kk = k;
                List<Row> cell = rows.stream().filter(r -> r.k() == kk && r.policy() == policy).toList();
                int x = gx + pi * (barW + 6);
                int y = top + plotH;
                for (Outcome o : new Outcome[]{Outcome.CORRECT, Outcome.UNSEEN_PATH, Outcome.ERROR, Outcome.WRONG}) {
                    long n = cell.stream().filter(r -> r.outcome() == o).count();
                    int bh = cell.isEmpty() ? 0 : (int) Math.round(plotH * (double) n / cell.size());
                    g.setColor(colors.get(o));
                    g.fillRect(x, y - bh, barW, bh);
                    y -= bh;
                }
                g.setColor(Color.BLACK);
                g.setStroke(new BasicStroke(1));
                g.drawString(policy.name().substring(0, 1), x + barW / 2 - 4, top + plotH + 14);
            }
        }
        int lx = 70;
        for (Outcome o : new Outcome[]{Outcome.CORRECT, Outcome.UNSEEN_PATH, Outcome.ERROR, Outcome.WRONG}) {
            g.setColor(colors.get(o));
            g.fillRect(lx, h - 22, 12, 12);
            g.setColor(Color.BLACK);
            g.drawString(o.name().toLowerCase(Locale.ROOT), lx + 16, h - 12);
            lx += 110;
        }
        g.dispose();
        try {
            ImageIO.write(img, "png", file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
