"""pslist with the crash utility over a QEMU ELF dump, timed.

    python3 benchmarks/peers/crash_pslist.py DUMP VMLINUX_DBG [WARM_RUNS]
Prints one JSON line {"tool", "walk", "pids", "cold_s", "warm_median_s", "warm_runs", "ps_tasks"}.
The walk is crash's generic `list` over init_task.tasks printing each tgid and pid (leaders only
kept): crash 8.0.2's own `ps` builds its task table from the PID xarray and, on Debian's 6.1.192
kernel finds the PIDs there but attaches no task to them (`help -t`: 157 xarray callbacks, 1 running
task; "TASKS: 1"); ps_tasks says how many `ps` printed, so a crash that fixes it shows. The `-s`
member printing goes through crash's embedded gdb, about a quarter of a second per task here.
cold_s: one crash session that loads the dump and the DWARF and walks once; warm_median_s: (a
session walking 1 + WARM_RUNS times - the one-walk session) / WARM_RUNS, the per-walk cost inside
a loaded session (crash has no timer of its own); WARM_RUNS 0 skips it (null).
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

WALK = "list -o task_struct.tasks -s task_struct.tgid,pid -h init_task"


def session(dump, vmlinux, commands):
    with tempfile.NamedTemporaryFile("w", suffix=".crash", delete=False) as f:
        f.write("\n".join(commands + ["quit"]) + "\n")
        script = f.name
    try:
        t0 = time.perf_counter()
        out = subprocess.run(["crash", "-s", vmlinux, dump, "-i", script], capture_output=True, text=True,
                             stdin=subprocess.DEVNULL, timeout=1800)
        return time.perf_counter() - t0, out.stdout
    finally:
        os.unlink(script)


def leaders(text):
    # "ffff888004a06100\n  tgid = 1,\n  pid = 1,": one entry per task, init_task (0) first
    pairs = re.findall(r"tgid = (\d+),\s*pid = (\d+),", text)
    return sorted(int(t) for t, p in pairs if t == p and t != "0")


def main():
    dump, vmlinux = sys.argv[1], sys.argv[2]
    warm_runs = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    cold, text = session(dump, vmlinux, [WALK])
    pids = leaders(text)
    if not pids:
        raise SystemExit("crash listed no task over init_task.tasks; its output began:\n" + text[:2000])
    ps_time, ps_text = session(dump, vmlinux, ["ps"])
    ps_tasks = len([l for l in ps_text.splitlines() if re.match(r"^[> ]\s*\d+\s+\d+\s+\d+\s+[0-9a-f]{16}", l)])
    warm = None
    if warm_runs > 0:
        many, text_many = session(dump, vmlinux, [WALK] * (1 + warm_runs))
        if len(re.findall(r"tgid = ", text_many)) != (1 + warm_runs) * len(re.findall(r"tgid = ", text)):
            raise SystemExit("crash walked a different list on a later walk over the same dump")
        warm = max(0.0, (many - cold) / warm_runs)
    out = subprocess.run(["crash", "--version"], capture_output=True, text=True).stdout
    version = next((l.strip() for l in out.splitlines() if l.strip()), "crash")
    print(json.dumps({"tool": version, "walk": "tasks", "pids": pids, "cold_s": cold,
                      "warm_median_s": warm, "warm_runs": warm_runs, "ps_tasks": ps_tasks}))


if __name__ == "__main__":
    main()
