package dev.vmsight.benchmarks;

import dev.vmsight.vmi.paging.AddressSpace;
import dev.vmsight.vmi.paging.PagingMode;
import dev.vmsight.vmi.phys.PhysicalMemories;
import dev.vmsight.vmi.phys.PhysicalMemory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Latency of one 8-byte guest-virtual read through {@link AddressSpace} over a RAM file mapped
 * read-only (the shared-RAM-file path of a monitor), in ns per read:
 * <ul>
 *   <li>{@code tlbHit}: 8 addresses in 8 pages, always in the TLB;</li>
 *   <li>{@code tlbMiss}: 4096 distinct 4 KiB pages in turn, so the direct-mapped 1024-entry TLB
 *       never holds the next one: a 4-level walk (4 entry reads) plus the data read;</li>
 *   <li>{@code physical}: the same data read straight from {@code PhysicalMemory.readLong}, the floor.</li>
 * </ul>
 * The guest is synthetic: 64 MiB of RAM with a 4-level page table mapping 16 MiB of kernel
 * addresses with 4 KiB pages, written to a temporary file.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class AddressSpaceBenchmark {
    static final long BASE_VA = 0xffff_8880_0000_0000L;
    static final int PAGES = 4096;
    static final int RAM = 64 << 20;
    static final int OPS = 4096;

    private Path file;
    private PhysicalMemory memory;
    private AddressSpace space;
    private long[] hitAddresses;
    private long[] missAddresses;
    private long[] physAddresses;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        byte[] ram = new byte[RAM];
        ByteBuffer le = ByteBuffer.wrap(ram).order(ByteOrder.LITTLE_ENDIAN);
        // tables from 32 MiB up: PML4, PDPT, PD, then 8 page tables; data pages from 16 MiB up, in a scattered order
        long pml4 = 32 << 20, pdpt = pml4 + 0x1000, pd = pdpt + 0x1000, pt = pd + 0x1000;
        le.putLong((int) (pml4 + 8 * ((BASE_VA >>> 39) & 511)), pdpt | 3);
        le.putLong((int) (pdpt + 8 * ((BASE_VA >>> 30) & 511)), pd | 3);
        physAddresses = new long[PAGES];
        for (int p = 0; p < PAGES; p++) {
            long table = pt + (long) (p / 512) * 0x1000;
            if (p % 512 == 0) le.putLong((int) (pd + 8 * (((BASE_VA >>> 21) & 511) + p / 512)), table | 3);
            long frame = (16L << 20) + (long) ((p * 2654435761L) % PAGES) * 0x1000; // a permutation of 4096 frames
            le.putLong((int) (table + 8 * (p % 512)), frame | 3);
            le.putLong((int) frame + 0x28, p);
            physAddresses[p] = frame + 0x28;
        }
        file = Files.createTempFile("vmsight-bench", ".ram");
        Files.write(file, ram);
        memory = PhysicalMemories.rawImage(file);
        space = AddressSpace.of(memory, pml4, PagingMode.fourLevel());
        hitAddresses = new long[8];
        for (int i = 0; i < 8; i++) hitAddresses[i] = BASE_VA + i * 0x1000L + 0x28;
        missAddresses = new long[PAGES];
        for (int p = 0; p < PAGES; p++) missAddresses[p] = BASE_VA + p * 0x1000L + 0x28;
        for (int p = 0; p < PAGES; p++) {
            if (space.readLong(missAddresses[p]) != p) throw new IllegalStateException("page " + p + " maps wrong");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        memory.close();
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Benchmark
    @OperationsPerInvocation(OPS)
    public long tlbHit() {
        long sum = 0;
        for (int i = 0; i < OPS; i++) sum += space.readLong(hitAddresses[i & 7]);
        return sum;
    }

    @Benchmark
    @OperationsPerInvocation(OPS)
    public long tlbMiss() {
        long sum = 0;
        for (int i = 0; i < OPS; i++) sum += space.readLong(missAddresses[i]);
        return sum;
    }

    @Benchmark
    @OperationsPerInvocation(OPS)
    public long physical() {
        long sum = 0;
        for (int i = 0; i < OPS; i++) sum += memory.readLong(physAddresses[i]);
        return sum;
    }
}
