package dev.vmsight.slicer;

import dev.vmsight.ir.uop.Loc;
import dev.vmsight.slicer.SliceResult.Disagreement;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Where each sliced µop's register inputs came from, per trace: another site µop, or START (the
 * value was live when the trace window opened). A site µop fed from START in one trace and only
 * from inside the window in another disagrees: its instances compute different things.
 * One consumer is tracked per live register (the nearest one after the producer).
 */
final class Producers {
    static final String START = "START";

    private final Sites table;
    /** (consumer site << 8 | µop) << 8 | loc → trace → producer */
    private final Map<Long, TreeMap<Integer, String>> seen = new HashMap<>();

    Producers(Sites table) { this.table = table; }

    void clear() { seen.clear(); }

    void record(int consumer, int loc, int trace, String producer) {
        TreeMap<Integer, String> byTrace = seen.computeIfAbsent(((long) consumer << 8) | loc, k -> new TreeMap<>());
        String had = byTrace.get(trace);
        if (had == null || producer.equals(START)) {
            byTrace.put(trace, producer);   // START wins: one live-in instance is enough to matter
        }
    }

    String name(int who) {
        int site = who >>> 8;
        return "0x" + Long.toHexString(table.keys.get(site).address()) + " µop " + (who & 0xFF) + " ("
                + table.uop(site, who & 0xFF) + ")";
    }

    List<Disagreement> disagreements() {
        List<Disagreement> out = new ArrayList<>();
        for (var e : seen.entrySet()) {
            TreeMap<Integer, String> byTrace = e.getValue();
            Integer fromStart = null;
            Integer inside = null;
            for (var t : byTrace.entrySet()) {
                if (t.getValue().equals(START)) {
                    fromStart = fromStart == null ? t.getKey() : fromStart;
                } else {
                    inside = inside == null ? t.getKey() : inside;
                }
            }
            if (fromStart != null && inside != null) {
                long key = e.getKey();
                int who = (int) (key >>> 8);
                int site = who >>> 8;
                out.add(new Disagreement(table.keys.get(site).address(), who & 0xFF, Loc.name((int) (key & 0xFF)),
                        fromStart, START, inside, byTrace.get(inside)));
            }
        }
        out.sort(java.util.Comparator.comparingLong(Disagreement::address).thenComparingInt(Disagreement::uop));
        return out;
    }
}
