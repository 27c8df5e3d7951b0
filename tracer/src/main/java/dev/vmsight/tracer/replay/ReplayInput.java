package dev.vmsight.tracer.replay;

import dev.vmsight.ir.sys.CpuFeatures;
import dev.vmsight.ir.sys.PhysMem;
import dev.vmsight.tracer.trace.TraceHeader;

/**
 * What a replay starts from: the CPU at START, guest-physical memory at START (the replay writes
 * to it: pass a copy-on-write overlay over the START snapshot), the CPU features that change
 * decoding, the environment values learned beforehand, and END: the first time RIP is
 * {@code markOut} with CR3 {@code cr3} (before that instruction runs).
 */
public record ReplayInput(TraceHeader.StartState start, PhysMem memory, CpuFeatures features,
                          RecordedEnvironment environment, long markOut, long cr3) { }
