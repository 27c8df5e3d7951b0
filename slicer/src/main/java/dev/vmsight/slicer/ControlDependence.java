package dev.vmsight.slicer;

import dev.vmsight.slicer.SliceResult.ControlKind;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Control dependence over the merged dynamic CFG of instruction sites: the edges every trace
 * took, each trace's last instruction to a virtual EXIT, and for a one-direction site its unseen
 * direction — a conditional branch's other static target when that instruction was seen, else
 * EXIT (unknown code could do anything). Post-dominators by the iterative algorithm of Cooper,
 * Harvey and Kennedy on the reversed graph. Site B is control-dependent on A when B lies on the
 * post-dominator-tree path from a successor of A up to (not including) A's immediate
 * post-dominator.
 */
final class ControlDependence {
    private final int exit;
    private final int[][] succ;
    private final int[] ipdom;

    /**
     * With {@code structure}, a structured call is one statement (an edge to its return address,
     * none into the callee) and a structured return leads to EXIT: control dependence stays inside
     * a function, and a call's callee is reached only through the call. {@code unseen}: add each
     * one-direction site's unseen direction (for deciding guards); without it the graph is what
     * the program can run when no guard fires.
     */
    ControlDependence(Sites table, long[] edges, int[] lastSites, CallStructure structure, boolean unseen) {
        int n = table.size();
        exit = n;
        List<List<Integer>> s = new ArrayList<>(n + 1);
        for (int i = 0; i <= n; i++) {
            s.add(new ArrayList<>());
        }
        for (long e : edges) {
            int from = (int) (e >>> 32);
            if (structure != null && structure.structuredCall(from)) {
                List<Integer> back = table.at(structure.returnAddress(from));
                for (int r : back) {
                    add(s, from, r);
                }
                if (back.isEmpty()) {
                    add(s, from, exit);
                }
            } else if (structure != null && structure.structuredReturn(from)) {
                add(s, from, exit);
            } else {
                add(s, from, (int) e);
            }
        }
        for (int last : lastSites) {
            if (last >= 0) {
                add(s, last, exit);
            }
        }
        for (int a = 0; a < n && unseen; a++) {
            ControlKind k = table.control.get(a);
            if (k == null || table.successors.get(a).size() >= 2
                    || structure != null && (structure.structuredReturn(a) || structure.structuredCall(a))) {
                continue;
            }
            boolean linked = false;
            if (k == ControlKind.CONDITIONAL) {
                for (long target : table.staticTargets(a)) {
                    if (!table.successors.get(a).contains(target)) {
                        for (int t : table.at(target)) {
                            add(s, a, t);
                            linked = true;
                        }
                    }
                }
            }
            if (!linked) {
                add(s, a, exit);
            }
        }
        succ = new int[n + 1][];
        for (int i = 0; i <= n; i++) {
            succ[i] = s.get(i).stream().mapToInt(Integer::intValue).toArray();
        }
        ipdom = postDominators(n + 1);
    }

    private static void add(List<List<Integer>> s, int from, int to) {
        List<Integer> l = s.get(from);
        if (!l.contains(to)) {
            l.add(to);
        }
    }

    /** Whether some site that is an {@code anchor} (kept µops, or a call whose callee has them) is control-dependent on {@code a}. */
    boolean controls(int a, java.util.function.IntPredicate anchor) {
        int stop = ipdom[a];
        for (int s : succ[a]) {
            for (int r = s; r != stop && r != exit && r >= 0; r = ipdom[r]) {
                if (anchor.test(r)) {
                    return true;
                }
                if (r == ipdom[r]) {
                    break;
                }
            }
        }
        return false;
    }

    /** Where control from site {@code a} must arrive: its immediate post-dominator site, {@link #EXIT} (a return, or END), or {@link #NONE} (it cannot reach either). */
    int immediatePostDominator(int a) {
        int p = ipdom[a];
        return p == exit ? EXIT : p < 0 ? NONE : p;
    }

    static final int EXIT = -1, NONE = -2;

    private int[] postDominators(int count) {
        int[][] pred = new int[count][];
        int[] np = new int[count];
        for (int a = 0; a < count; a++) {
            for (int b : succ[a]) {
                np[b]++;
            }
        }
        for (int i = 0; i < count; i++) {
            pred[i] = new int[np[i]];
        }
        Arrays.fill(np, 0);
        for (int a = 0; a < count; a++) {
            for (int b : succ[a]) {
                pred[b][np[b]++] = a;
            }
        }
        // reverse post-order of the reversed graph from EXIT (iterative DFS over predecessors)
        int[] order = new int[count];
        int[] rank = new int[count];
        Arrays.fill(rank, -1);
        int ordered = 0;
        boolean[] seen = new boolean[count];
        int[] stack = new int[count];
        int[] cursor = new int[count];
        int sp = 0;
        stack[sp++] = exit;
        seen[exit] = true;
        while (sp > 0) {
            int v = stack[sp - 1];
            if (cursor[v] < pred[v].length) {
                int w = pred[v][cursor[v]++];
                if (!seen[w]) {
                    seen[w] = true;
                    stack[sp++] = w;
                }
            } else {
                sp--;
                order[ordered++] = v;
            }
        }
        // order holds post-order; process in reverse
        for (int i = 0; i < ordered; i++) {
            rank[order[i]] = i;
        }
        int[] idom = new int[count];
        Arrays.fill(idom, -1);
        idom[exit] = exit;
        boolean changed = true;
        while (changed) {
            changed = false;
            for (int i = ordered - 1; i >= 0; i--) {
                int b = order[i];
                if (b == exit) {
                    continue;
                }
                int nw = -1;
                for (int p : succ[b]) {          // predecessors in the reversed graph
                    if (idom[p] != -1) {
                        nw = nw == -1 ? p : intersect(p, nw, idom, rank);
                    }
                }
                if (nw != -1 && idom[b] != nw) {
                    idom[b] = nw;
                    changed = true;
                }
            }
        }
        return idom;
    }

    private static int intersect(int a, int b, int[] idom, int[] rank) {
        while (a != b) {
            while (rank[a] < rank[b]) {
                a = idom[a];
            }
            while (rank[b] < rank[a]) {
                b = idom[b];
            }
        }
        return a;
    }
}
