"""Writes benchmarks/REPORT.md and its PNG plots from one benchmarks/run result directory.

    python3 benchmarks/report.py DIR REPORT_MD
Every number comes from DIR (benchmarks/run's raw results); nothing is carried over from earlier
runs. Medians throughout (the machine is shared: means are dragged by its pauses).
"""
import glob
import json
import os
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def first_run(d, prefix):
    """(monitor µs, whole command µs) of a timed `vmsight run` (benchmarks/run's timed_run), or Nones."""
    if not os.path.exists(f"{d}/{prefix}.json"):
        return None, None
    r = json.load(open(f"{d}/{prefix}.json"))
    cold = f"{d}/{prefix}-cold.json"
    whole = json.load(open(cold))["cold_s"] * 1e6 if os.path.exists(cold) else None
    return (r.get("micros") if r.get("outcome") == "answer" else None), whole


def props(path):
    out = {}
    for line in open(path):
        if "=" in line:
            k, v = line.rstrip("\n").split("=", 1)
            out[k] = v
    return out


def jmh_medians(path, key=lambda r: r["benchmark"].rsplit(".", 1)[1]):
    """key(result) -> median µs of a JMH sample-mode JSON result (default key: the benchmark method)."""
    out = {}
    if not os.path.exists(path):
        return out
    for r in json.load(open(path)):
        m = r["primaryMetric"]
        if m["scoreUnit"] != "us/op":
            raise SystemExit(f"{path}: {r['benchmark']} is in {m['scoreUnit']}, not us/op")
        out[key(r)] = m["scorePercentiles"]["50.0"]
    return out


def jmh_programs(path):
    """(program, method) -> median µs of ProgramsBenchmark's JSON result."""
    return jmh_medians(path, lambda r: (r["params"]["program"], r["benchmark"].rsplit(".", 1)[1]))


def fmt(us):
    if us is None:
        return "–"
    if us >= 1e6:
        return f"{us / 1e6:.1f} s"
    if us >= 1e3:
        return f"{us / 1e3:.1f} ms"
    return f"{us:.1f} µs"


def ratio(a, b):
    return "–" if a is None or b is None or b == 0 else f"{a / b:.1f}×"


def main():
    d, report = sys.argv[1], sys.argv[2]
    run = props(f"{d}/run.properties")
    sizes = sorted(int(re.search(r"same-pids-(\d+)", p).group(1)) for p in glob.glob(f"{d}/same-pids-*.json"))
    if not sizes:
        raise SystemExit(f"{d} holds no complete size (same-pids-N.json): did benchmarks/run stop early?")
    rows = []
    for n in sizes:
        same = json.load(open(f"{d}/same-pids-{n}.json"))
        ram, dump = jmh_medians(f"{d}/jmh-ram-{n}.json"), jmh_medians(f"{d}/jmh-dump-{n}.json")
        drgn = {r["walk"]: r for r in map(json.loads, open(f"{d}/drgn-{n}.jsonl"))}
        crash_file = f"{d}/crash-{n}.json"      # absent above benchmarks/run's --crash-max
        crash = json.load(open(crash_file)) if os.path.exists(crash_file) else \
            {"warm_median_s": None, "cold_s": None, "ps_tasks": None, "tool": None}
        cold = json.load(open(f"{d}/vmsight-run-{n}-cold.json"))["cold_s"]
        warm_crash = crash["warm_median_s"]
        rows.append({
            "n": n, "pids": same["pids"],
            "jit_ram": ram.get("jit"), "ref_ram": ram.get("reference"), "hand_ram": ram.get("handWritten"),
            "jit_dump": dump.get("jit"), "ref_dump": dump.get("reference"), "hand_dump": dump.get("handWritten"),
            "drgn_tasks": drgn["tasks"]["warm_median_s"] * 1e6, "drgn_proc": drgn["proc"]["warm_median_s"] * 1e6,
            "crash": None if warm_crash is None else warm_crash * 1e6,
            "cold_vmsight": cold * 1e6, "cold_drgn": drgn["tasks"]["cold_s"] * 1e6,
            "cold_crash": None if crash["cold_s"] is None else crash["cold_s"] * 1e6,
            "crash_ps": crash["ps_tasks"], "drgn_tool": drgn["tasks"]["tool"], "crash_tool": crash["tool"],
        })

    # plots
    xs = [r["pids"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for key, label in (("hand_ram", "hand-written walker (RAM file)"), ("jit_ram", "vmsight JIT (RAM file)"),
                       ("jit_dump", "vmsight JIT (ELF dump)"), ("ref_ram", "vmsight reference executor (RAM file)"),
                       ("drgn_tasks", "drgn for_each_task (warm)"), ("drgn_proc", "drgn /proc walk (warm)"),
                       ("crash", "crash list (warm)")):
        pts = [(r["pids"], r[key]) for r in rows if r[key] is not None]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("processes in the guest (PIDs listed)")
    ax.set_ylabel("median time per pslist (µs, log)")
    ax.set_title("pslist over one guest's memory, warm")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(os.path.dirname(report), "pslist-scaling.png"), dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.25
    for i, (key, label) in enumerate((("cold_vmsight", "vmsight run --dump (JVM start to answer)"),
                                      ("cold_drgn", "drgn (load DWARF, walk)"), ("cold_crash", "crash (session, one list)"))):
        ax.bar([j + (i - 1) * width for j in range(len(rows))], [0 if r[key] is None else r[key] / 1e6 for r in rows], width,
               label=label)
    ax.set_xticks(range(len(rows)), [str(x) for x in xs])
    ax.set_xlabel("processes in the guest")
    ax.set_ylabel("seconds, whole command (log)")
    ax.set_yscale("log")
    ax.set_title("pslist from a cold start, over the same ELF dump")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(os.path.dirname(report), "pslist-cold.png"), dpi=110)
    plt.close(fig)

    program_lines = []
    programs = sorted(glob.glob(f"{d}/jmh-programs-*.json"))
    if programs:
        n = int(re.search(r"jmh-programs-(\d+)", programs[0]).group(1))
        med = jmh_programs(programs[0])
        inputs = props(f"{d}/programs-inputs-{n}.properties")
        hand = next((r["hand_dump"] for r in rows if r["n"] == n), None)
        plot_programs(med, hand, n, os.path.join(os.path.dirname(report), "programs.png"))
        program_lines = [
            "",
            f"## The six programs over one dump ({n} sleepers)",
            "",
            "As `vmsight run --dump` runs them (placed in the guest's boot, as init_task), compiled and on the",
            "reference executor, in one JMH run; the backends' answers are checked equal when each trial opens.",
            "",
            "| program | input | JIT | reference | reference / JIT | hand-written |",
            "|---|---|---|---|---|---|",
        ]
        for p in SIX:
            j, r = med.get((p, "jit")), med.get((p, "reference"))
            inp = {"getpsfile": "1", "getdrvfile": inputs.get("getdrvfile", "?")}.get(p, "")
            program_lines.append(f"| {p} | {inp} | {fmt(j)} | {fmt(r)} | {ratio(r, j)} | {fmt(hand) if p == 'pslist' else '–'} |")
        program_lines += ["", "![the six programs](programs.png)"]
    training_lines = training_section(d)
    source_lines = sources_section(d, rows)
    agent_lines = agent_section(d)
    function_lines = functions_section(d, rows)
    r0 = rows[0]
    lines = [
        "# benchmarks/REPORT.md",
        "",
        "Generated by `benchmarks/run` (then `benchmarks/report.py`); do not edit by hand: run it again.",
        "",
        f"- run: {run.get('date')}, commit {run.get('commit')}, {run.get('java')}",
        f"- machine: {run.get('machine')}; load average at the start {run.get('load')} (shared machine: medians, and ratios within one run)",
        f"- guest: the lab guest (QEMU TCG, 1 vCPU, nokaslr), kernel {run.get('kernel')}; monitor {run.get('program')}",
        f"- JMH: `{run.get('jmh')}`, sample mode, 1 fork; peers: {r0['drgn_tool']}, {r0['crash_tool']}",
        "",
        "Every size's tools listed the same PIDs over the same dump (`same_pids.py` stops the run otherwise):",
        "the compiled monitor, the reference executor and the hand-written walker (checked when each JMH",
        "trial opens), `vmsight run`, drgn's tasks-list and /proc walks, and crash's list.",
        "",
        "## Warm: median time per pslist",
        "",
        "RAM file: the live guest paused through QMP for the trial, read through its shared memory-backend-file.",
        "ELF dump: one paging core of that guest with VMCOREINFO (`vmsight lab dump --vmcoreinfo --paging`), which",
        "every tool reads. Each vmsight run is cold inside (a fresh address space and overlay: a live guest changes",
        "between runs); drgn's and crash's walks reuse their loaded session.",
        "",
        "| processes | PIDs | JIT, RAM file | JIT, dump | reference, RAM file | reference, dump | hand-written, RAM file | hand-written, dump | drgn tasks | drgn /proc | crash list | JIT / hand-written | reference / JIT | drgn tasks / JIT |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['n']} | {r['pids']} | {fmt(r['jit_ram'])} | {fmt(r['jit_dump'])} | {fmt(r['ref_ram'])} | {fmt(r['ref_dump'])} | "
                     f"{fmt(r['hand_ram'])} | {fmt(r['hand_dump'])} | {fmt(r['drgn_tasks'])} | {fmt(r['drgn_proc'])} | {fmt(r['crash'])} | "
                     f"{ratio(r['jit_ram'], r['hand_ram'])} | {ratio(r['ref_ram'], r['jit_ram'])} | {ratio(r['drgn_tasks'], r['jit_dump'])} |")
    lines += [
        "",
        "![pslist scaling](pslist-scaling.png)",
        "",
        "## Cold: the whole command, over the same dump",
        "",
        "| processes | `vmsight run --dump` (JVM start, load, compile, run) | drgn (Program, VMCOREINFO, DWARF, walk) | crash (session: DWARF, one list) | crash `ps` tasks found |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        found = "not run" if r["crash_ps"] is None else f"{r['crash_ps']} of {r['pids'] + 1}"
        lines.append(f"| {r['n']} | {fmt(r['cold_vmsight'])} | {fmt(r['cold_drgn'])} | {fmt(r['cold_crash'])} | {found} |")
    lines += [
        "",
        "![pslist cold](pslist-cold.png)",
        "",
    ] + source_lines + program_lines + function_lines + agent_lines + training_lines + [
        "",
        "## Reading the numbers",
        "",
        "- The hand-written walker (`vmi-runtime`'s `TaskListWalker`, offsets from the kernel's BTF by pahole) is the",
        "  floor: the fewest reads that answer pslist. The trained monitor answers the same question by running the",
        "  kernel's own `/proc` readdir path (PID radix tree, dentry lookups, formatting), so the ratio is the price",
        "  of needing no profile. Issue 16's targets: JIT ≤ 3× the walker, ≥ 50× the reference executor, ≤ 100 µs at ~150 PIDs.",
        "- crash 8.0.2 (Debian 12) finds the PIDs in this kernel's xarray but no task behind them, so its `ps` lists",
        "  only the idle task; its generic `list` walk prints each member through its embedded gdb (slow, but what",
        "  a user of crash gets without `ps`). drgn 0.0.22 cannot translate a physical-only core of a guest whose",
        "  `phys_base` is 0 (fixed upstream in drgn PR #457); the paging core, which vmsight reads as well, avoids that.",
        "- crash runs only up to benchmarks/run's `--crash-max` processes (\"–\" above it): its list of a thousand",
        "  tasks already takes minutes.",
        "- libvirt's virDomainMemoryPeek reads at most 64 KiB per call, over libvirtd's RPC: each guest page a run",
        "  touches costs a round trip, which is why the agent and `vmsight run` read a local file-backed domain through",
        "  its RAM file (the default; `--peek` forces the peeks).",
        "",
    ]
    open(report, "w").write("\n".join(lines))


SIX = ("getpid", "gettime", "pslist", "getpsfile", "lsmod", "getdrvfile")


def plot_programs(med, hand, n, path):
    """Latency of each program by backend (log scale), and the hand-written walker beside pslist."""
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.38
    for i, (method, label) in enumerate((("jit", "vmsight JIT"), ("reference", "reference executor"))):
        ax.bar([j + (i - 0.5) * width for j in range(len(SIX))], [med.get((p, method)) or 0 for p in SIX], width, label=label)
    if hand:
        ax.plot([SIX.index("pslist")], [hand], marker="*", markersize=12, linestyle="none", color="black",
                label="hand-written pslist walker")
    ax.set_xticks(range(len(SIX)), SIX)
    ax.set_yscale("log")
    ax.set_ylabel("median µs per run (log)")
    ax.set_title(f"the six programs over one ELF dump ({n} sleepers)")
    ax.grid(True, axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def sources_section(d, rows):
    """pslist at one size through each memory source: QEMU's RAM file, libvirt (RAM file, peeks), the dump."""
    files = sorted(glob.glob(f"{d}/jmh-libvirt-file-*.json"))
    if not files:
        return []
    n = int(re.search(r"jmh-libvirt-file-(\d+)", files[0]).group(1))
    row = next((r for r in rows if r["n"] == n), None)
    lv_file, lv_peek = jmh_medians(files[0]), jmh_medians(f"{d}/jmh-libvirt-peek-{n}.json")
    out = [
        "",
        f"## pslist through each memory source ({n} sleepers)",
        "",
        "The libvirt rows are the same workload booted again as a libvirt domain (`vmsight lab boot --libvirt`), paused",
        "through libvirt; its PID count can differ by a process or two from the QEMU boot's. JMH's runs are warm: over",
        "peeks, a paused source keeps the pages it read (a 16,384-page cache, dropped on resume), so only a pause's first",
        "run peeks. The last two columns are a user's first run: `vmsight run --json` in a fresh JVM (the monitor's own",
        "time as it reports it, before HotSpot compiled anything; then the whole command).",
        "",
        "| source | JIT (JMH, warm) | hand-written (JMH) | JIT / hand-written | first run: monitor | first run: whole command |",
        "|---|---|---|---|---|---|",
    ]

    def line(label, jit, hand, prefix):
        mon, whole = first_run(d, prefix)
        return f"| {label} | {fmt(jit)} | {fmt(hand)} | {ratio(jit, hand)} | {fmt(mon)} | {fmt(whole)} |"
    if row:
        out.append(line("RAM file (QEMU memory-backend-file, paused through QMP)", row["jit_ram"], row["hand_ram"], f"vmsight-lab-{n}"))
    out.append(line("libvirt domain, its RAM file", lv_file.get("jit"), lv_file.get("handWritten"), f"vmsight-libvirt-file-{n}"))
    out.append(line("libvirt domain, virDomainMemoryPeek", lv_peek.get("jit"), lv_peek.get("handWritten"), f"vmsight-libvirt-peek-{n}"))
    if row:
        out.append(line("ELF dump (paging core)", row["jit_dump"], row["hand_dump"], f"vmsight-run-{n}"))
    return out


def agent_section(d):
    """The agent's cycle on a running guest (AgentCycles), or nothing."""
    files = sorted(glob.glob(f"{d}/agent-*.json"))
    if not files:
        return []
    n = int(re.search(r"agent-(\d+)", files[0]).group(1))
    a = json.load(open(files[0]))
    outcomes = "; ".join(f"{m}: " + ", ".join(f"{k} {v}" for k, v in kinds.items()) for m, kinds in a["outcomes"].items())
    return [
        "",
        f"## The agent's cycle ({n} sleepers)",
        "",
        f"`Agent.cycle` of the running lab guest, {a['cycles']} cycles after {a['warmup']} warm-up ones, monitors"
        f" {a['monitors']}: pause, every monitor, resume, then the cross-view (the guest's own process list through",
        "qemu-guest-agent, under QEMU TCG) and the alerts.",
        "",
        "| | median | 90th percentile |",
        "|---|---|---|",
        f"| whole cycle | {fmt(a['cycle_median_s'] * 1e6)} | {fmt(a['cycle_p90_s'] * 1e6)} |",
        f"| guest paused | {fmt(a['pause_median_s'] * 1e6)} | {fmt(a['pause_p90_s'] * 1e6)} |",
        "",
        f"Outcomes: {outcomes} (getpsfile runs only for a PID the monitor lists and the guest's own view does not:",
        "none in a guest without a rootkit).",
    ]


def training_section(d):
    """The six programs' training, per stage (TrainSix's training.jsonl), or nothing."""
    path = f"{d}/training.jsonl"
    if not os.path.exists(path):
        return []
    rows = [json.loads(line) for line in open(path) if line.strip()]
    traced = all(r["traced"] for r in rows)
    stages = ["trace", "slice", "merge", "calibrate", "write", "compile", "self-check"]
    out = [
        "",
        "## Training, per program and stage",
        "",
        "`vmsight train PROGRAM` as TrainSix runs it (default runs, DATA policy): " + (
            "each corpus traced again first (`benchmarks/run --retrace`), so *trace* is the lab guest booting and"
            " tracing every run under QEMU TCG." if traced else
            "the traced corpus was reused (*trace* only checks it; `benchmarks/run --retrace` measures tracing)."),
        "Slice, merge and calibrate are summed over the calibration rounds; self-check runs the compiled monitor on",
        "every training snapshot against the guest's answer.",
        "",
        "| program | runs | instructions | " + " | ".join(stages) + " | total |",
        "|---|---|---|" + "---|" * len(stages) + "---|",
    ]
    for r in rows:
        st = r["stages"]
        cells = [fmt(st[k] * 1e6) if k in st else "–" for k in stages]
        out.append(f"| {r['program']} | {r['runs']} | {r['instructions']:,} | " + " | ".join(cells)
                   + f" | {fmt(sum(st.values()) * 1e6)} |")
    return out


def functions_section(d, rows):
    """Guest instructions of one pslist run by kernel function (PslistFunctions), or nothing."""
    files = sorted(glob.glob(f"{d}/functions-*.json"))
    if not files:
        return []
    n = int(re.search(r"functions-(\d+)", files[0]).group(1))
    f = json.load(open(files[0]))
    total, pids = f["instructions"], f["pids"]
    jit = next((r["jit_ram"] or r["jit_dump"] for r in rows if r["n"] == n), None)
    out = [
        "",
        f"## What one pslist run executes ({n} sleepers, {pids} PIDs)",
        "",
        f"The monitor runs {total:,} guest instructions ({f['distinct']:,} distinct), {total / pids:,.0f} per PID: the kernel's",
        "/proc readdir path, as training recorded it, counted by the reference executor (the compiled code runs the same",
        "instructions) and named by the training boot's kallsyms.",
    ]
    if jit:
        per = jit * 1e3 / total
        out += [
            f"The compiled monitor takes {per:.1f} ns per guest instruction (RAM file); at that rate 100 µs is",
            f"{100e3 / per:,.0f} instructions, {100e3 / per / pids:,.0f} per PID. A code generator makes each instruction",
            "cheaper; reaching the pslist targets also needs fewer of them (the formatting and dentry work below).",
        ]
    out += ["", "| function | instructions | share | per PID | distinct |", "|---|---|---|---|---|"]
    shown = f["functions"][:20]
    for e in shown:
        out.append(f"| {e['name']} | {e['instructions']:,} | {100 * e['instructions'] / total:.1f} % | "
                   f"{e['instructions'] / pids:.0f} | {e['distinct']} |")
    rest = total - sum(e["instructions"] for e in shown)
    out.append(f"| {len(f['functions']) - len(shown)} others | {rest:,} | {100 * rest / total:.1f} % | {rest / pids:.0f} | |")
    return out


if __name__ == "__main__":
    main()
