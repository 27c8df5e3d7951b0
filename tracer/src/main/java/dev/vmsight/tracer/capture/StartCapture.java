package dev.vmsight.tracer.capture;

import dev.vmsight.guests.gdb.X86Registers;
import dev.vmsight.ir.sys.SystemTables;
import dev.vmsight.tracer.lockstep.LearnedValue;
import dev.vmsight.tracer.trace.TraceHeader.BufferSpec;
import java.util.List;
import java.util.Map;

/**
 * What one pass of the guest gave (steps a-d of a traced run): the registers and descriptor
 * tables at START, RAM copied at START, the input buffer, what the lockstep prefix and the
 * synchronisations after it learned (environment values; syscall MSRs as locations), and the output buffer QEMU left at END.
 */
record StartCapture(X86Registers start, SystemTables tables, CopiedRam ram, BufferSpec input, long prefixSteps,
                    int sites, int unevenSites, int[] valueMatches, List<LearnedValue> values, Map<Integer, Long> learnedLocations, List<String> learnedLines,
                    List<String> prefixDivergences, BufferSpec expectedOutput, double captureSeconds, int exitCode,
                    String programOutput) { }
