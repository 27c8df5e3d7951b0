package dev.vmsight.ir.interp;

/**
 * Values from outside the machine state: the ENV µops take their results from here, so the
 * tracer can learn them from QEMU and record them as explicit inputs. Implementations must be
 * deterministic for a given recording.
 */
public interface Environment {
    long rdtsc();

    /** {eax, ebx, ecx, edx} of cpuid(leaf, subleaf). */
    long[] cpuid(long leaf, long subleaf);

    /** An MSR the machine state does not hold. */
    long rdmsr(long msr);

    long portIn(long port, int size);

    long rdrand(int size);

    /**
     * PKRU (rdpkru): only CPUs with protection keys run it (not QEMU's qemu64, which the lab
     * trained on first), so an environment without a value for it refuses by default.
     */
    default long rdpkru() {
        throw new IllegalStateException("rdpkru needs a value this environment does not have (" + getClass().getSimpleName() + ")");
    }

    /** Refuses every query with a clear message: for code that must not touch the environment. */
    Environment NONE = new Environment() {
        @Override public long rdtsc() { throw refuse("rdtsc"); }
        @Override public long[] cpuid(long leaf, long subleaf) { throw refuse("cpuid leaf 0x" + Long.toHexString(leaf)); }
        @Override public long rdmsr(long msr) { throw refuse("rdmsr 0x" + Long.toHexString(msr)); }
        @Override public long portIn(long port, int size) { throw refuse("in from port 0x" + Long.toHexString(port)); }
        @Override public long rdrand(int size) { throw refuse("rdrand"); }

        private IllegalStateException refuse(String what) {
            return new IllegalStateException(what + " needs an Environment (none was given to the interpreter)");
        }
    };
}
