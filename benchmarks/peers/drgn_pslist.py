"""pslist with drgn over a QEMU ELF dump: the tasks list and the /proc-equivalent PID walk, timed.

Run with Debian's own python3 (python3-drgn):
    /usr/bin/python3 benchmarks/peers/drgn_pslist.py DUMP VMLINUX_DBG [WARM_RUNS]
Prints one JSON line per walk: {"tool", "walk", "pids", "cold_s", "warm_median_s", "warm_runs"}.
cold_s: from an empty Program to the first answer (reading the dump's VMCOREINFO, loading the DWARF
of the -dbg vmlinux, the walk); warm_median_s: the walk alone again, median over WARM_RUNS.
"""
import json
import statistics
import sys
import time

import drgn
from drgn.helpers.linux.pid import for_each_pid, for_each_task, pid_task


def tasks_walk(prog):
    # the thread-group leaders on init_task's tasks list (what a LibVMI pslist walks)
    return sorted(int(t.tgid) for t in for_each_task(prog) if t.pid == t.tgid)


def proc_walk(prog):
    # what /proc's readdir lists: each PID of the initial namespace whose PIDTYPE_TGID task exists
    tgid_type = prog["PIDTYPE_TGID"]
    out = []
    for pid in for_each_pid(prog):
        if pid_task(pid, tgid_type):
            out.append(int(pid.numbers[0].nr))
    return sorted(out)


def main():
    dump, vmlinux = sys.argv[1], sys.argv[2]
    warm_runs = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    for name, walk in (("tasks", tasks_walk), ("proc", proc_walk)):
        t0 = time.perf_counter()
        prog = drgn.Program()
        prog.set_core_dump(dump)
        prog.load_debug_info([vmlinux], default=False)
        pids = walk(prog)
        cold = time.perf_counter() - t0
        warm = []
        for _ in range(warm_runs):
            t = time.perf_counter()
            again = walk(prog)
            warm.append(time.perf_counter() - t)
            if again != pids:
                raise SystemExit(f"drgn {name} walk changed between runs over one dump: {len(pids)} then {len(again)} PIDs")
        print(json.dumps({"tool": "drgn " + drgn.__version__, "walk": name, "pids": pids, "cold_s": cold,
                          "warm_median_s": statistics.median(warm), "warm_runs": warm_runs}))


if __name__ == "__main__":
    main()
