"""Stops a benchmarks/run when the tools disagree about one dump's processes.

    python3 benchmarks/peers/same_pids.py DIR N
Compares, for the dump of N sleepers, the hand-written walker's PIDs (handwritten-N.json) with
`vmsight run`'s answer (vmsight-run-N.json), drgn's two walks (drgn-N.jsonl) and crash's
(crash-N.json, when crash ran at that size). The guest's own `ls /proc` (ls-proc-N.txt, read before the dump by qemu-ga)
is reported beside them, not required to agree: it lists the shell and ls that read it.
"""
import json
import os
import sys


def main():
    d, n = sys.argv[1], sys.argv[2]
    truth = json.load(open(f"{d}/handwritten-{n}.json"))["pids"]
    lists = {"vmsight run (JIT)": json.load(open(f"{d}/vmsight-run-{n}.json"))}
    if lists["vmsight run (JIT)"].get("outcome") != "answer":
        raise SystemExit(f"vmsight run gave no answer on the dump of {n} sleepers: {lists['vmsight run (JIT)']}")
    lists["vmsight run (JIT)"] = sorted(lists["vmsight run (JIT)"]["answer"])
    for line in open(f"{d}/drgn-{n}.jsonl"):
        r = json.loads(line)
        lists["drgn " + r["walk"]] = r["pids"]
    if os.path.exists(f"{d}/crash-{n}.json"):     # benchmarks/run skips crash above --crash-max
        lists["crash list"] = json.load(open(f"{d}/crash-{n}.json"))["pids"]
    bad = {k: v for k, v in lists.items() if v != truth}
    guest = sorted(int(x) for x in open(f"{d}/ls-proc-{n}.txt").read().split() if x.isdigit())
    summary = ", ".join(f"{k} {len(v)}" for k, v in lists.items())
    print(f"{n} sleepers: hand-written walker {len(truth)} PIDs; {summary}; the guest's ls /proc {len(guest)}"
          f" ({len(set(guest) - set(truth))} not in the dump: its own shell and ls)", file=sys.stderr)
    if bad:
        for k, v in bad.items():
            print(f"  {k}: {len(v)} PIDs; not in the walker's: {sorted(set(v) - set(truth))[:20]}, "
                  f"missing: {sorted(set(truth) - set(v))[:20]}", file=sys.stderr)
        raise SystemExit(f"the tools disagree about the dump of {n} sleepers")
    json.dump({"sleepers": int(n), "pids": len(truth), "guest_ls_proc": len(guest), "agree": sorted(lists)},
              open(f"{d}/same-pids-{n}.json", "w"))


if __name__ == "__main__":
    main()
