package dev.vmsight.tracer.trace;

import dev.vmsight.ir.sys.CpuFeatures;
import java.util.List;
import java.util.Map;

/**
 * What a trace is of: the training program and its arguments, the guest (kernel identified by a
 * hash of its text), the CPU features that change decoding, the marks, the input buffer at START
 * and the output buffer as the real guest left it at END (the expected answer), the start state,
 * and the run's context (which variation: workload size, trainer's parent, open fds, CPU, run
 * index...) as free-form key/value pairs.
 */
public record TraceHeader(String program, List<String> args, GuestIdentity guest, CpuFeatures features, Marks marks,
                          BufferSpec input, BufferSpec expectedOutput, StartState start, Map<String, String> context,
                          long createdEpochMillis) {
    public TraceHeader {
        args = List.copyOf(args);
        context = Map.copyOf(context);
    }

    /**
     * The guest a trace was taken on. {@code kernelTextSha256} is the SHA-256 of the kernel's
     * .text as loaded (the build identity; two kernels with the same name but other code differ),
     * {@code kernelRelease} what uname -r says, for people.
     */
    public record GuestIdentity(String kernelTextSha256, String kernelRelease, String kernelPackage, int vcpus,
                                long memoryBytes) { }

    /** Addresses of main, vmsight_mark_in (START), vmsight_mark_out (END) and the trainer's CR3. */
    public record Marks(long main, long markIn, long markOut, long cr3) { }

    /**
     * A mark's buffer: linear address, length, the physical address of each page it spans (in
     * order; empty when length is 0) and its bytes (input: at START; expected output: at END, read
     * from the real guest).
     */
    public record BufferSpec(String name, long va, int length, long[] pagePhysicalAddresses, byte[] bytes) {
        public static BufferSpec none(String name) {
            return new BufferSpec(name, 0, 0, new long[0], new byte[0]);
        }
    }

    /**
     * The CPU at START: every architectural location (indexed by {@code dev.vmsight.ir.uop.Loc},
     * {@code Loc.ARCH_COUNT} values; learned MSRs such as LSTAR included), the descriptor tables
     * and MAXPHYADDR.
     */
    public record StartState(long[] architectural, long gdtBase, int gdtLimit, long idtBase, int idtLimit, long tssBase,
                             int physicalAddressBits) { }
}
