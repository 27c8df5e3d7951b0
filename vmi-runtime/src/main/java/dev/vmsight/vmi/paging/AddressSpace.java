package dev.vmsight.vmi.paging;

import static dev.vmsight.vmi.GuestMemoryException.Kind.*;

import dev.vmsight.vmi.GuestMemoryException;
import dev.vmsight.vmi.phys.PhysicalMemory;
import dev.vmsight.vmi.phys.PhysicalMemoryException;
import dev.vmsight.vmi.vcpu.VcpuState;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * One x86-64 address space (a CR3) over guest-physical memory, read-only: one walker for 4- and
 * 5-level paging with 4 KiB, 2 MiB and 1 GiB leaves ({@link PagingMode}), and a software TLB in
 * front of it. Nothing is written to the guest: no accessed/dirty bits, no stores.
 *
 * <p>The TLB is direct-mapped by 4 KiB virtual page number ({@value #TLB_ENTRIES} entries, a large
 * page fills one entry per 4 KiB page used) and holds only translations that succeeded; it is
 * never invalidated behind the caller's back: call {@link #flush()} whenever the guest may have
 * run (its page tables may have changed). The hit path is a shift, a mask, an array compare.
 *
 * <p>Every failure is a {@link GuestMemoryException}: non-canonical address, an entry not present
 * or with reserved bits (with its level and physical address), a physical address the source
 * cannot read. Not thread-safe: one monitor run owns one address space.
 */
public final class AddressSpace implements LinearMemory {
    public static final int TLB_ENTRIES = 1024;
    private static final int TLB_MASK = TLB_ENTRIES - 1;
    private static final long NO_PAGE = -1; // no canonical address has this page number
    private static final VarHandle LE_LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private final PhysicalMemory memory;
    private final long cr3;
    private final long root;
    private final PagingMode mode;
    private final boolean userOnly;
    private final long[] tlbPage = new long[TLB_ENTRIES];
    private final long[] tlbFrame = new long[TLB_ENTRIES];
    private final byte[] scratch = new byte[8];
    private long hits, misses;

    private AddressSpace(PhysicalMemory memory, long cr3, PagingMode mode, boolean userOnly) {
        this.memory = memory;
        this.cr3 = cr3;
        this.root = cr3 & mode.addressMask();
        this.mode = mode;
        this.userOnly = userOnly;
        flush();
    }

    /** The address space whose top-level table CR3 names (PCID and flag bits are ignored). */
    public static AddressSpace of(PhysicalMemory memory, long cr3, PagingMode mode) {
        return new AddressSpace(memory, cr3, mode, false);
    }

    /** The address space a vCPU is in: its CR3, CR4.LA57 and EFER.NXE. */
    public static AddressSpace of(PhysicalMemory memory, VcpuState cpu) {
        return of(memory, cpu.cr3(), PagingMode.of(cpu));
    }

    /**
     * The same address space, refusing pages that user mode could not read (U/S clear at some
     * level) with {@link GuestMemoryException.Kind#PROTECTION}: for monitors that must only follow
     * user pointers. Its TLB is its own.
     */
    public AddressSpace userAccessOnly() {
        return new AddressSpace(memory, cr3, mode, true);
    }

    public PhysicalMemory memory() { return memory; }

    public long cr3() { return cr3; }

    public PagingMode mode() { return mode; }

    /** Forgets every cached translation (the guest may have changed its page tables). */
    public void flush() {
        Arrays.fill(tlbPage, NO_PAGE);
    }

    public long tlbHits() { return hits; }

    public long tlbMisses() { return misses; }

    /** The guest-physical address of {@code va}, through the TLB. */
    public long physical(long va) {
        long page = va >>> 12;
        int slot = (int) page & TLB_MASK;
        if (tlbPage[slot] == page) {
            hits++;
            return tlbFrame[slot] | (va & 0xFFF);
        }
        return miss(va, page, slot);
    }

    private long miss(long va, long page, int slot) {
        misses++;
        Translation t = walk(va);
        if (userOnly && !t.user()) {
            throw new GuestMemoryException(PROTECTION, va, t.physical(), t.level(), "supervisor page (U/S clear) in a user-only address space");
        }
        tlbPage[slot] = page;
        tlbFrame[slot] = t.physical() & ~0xFFFL;
        return t.physical();
    }

    /** Walks the page tables for {@code va} (bypassing the TLB) and reports the leaf and its bits. */
    public Translation translate(long va) {
        return walk(va);
    }

    private Translation walk(long va) {
        if (!mode.isCanonical(va)) {
            throw new GuestMemoryException(NON_CANONICAL, va, -1, 0,
                    "not canonical for " + mode.levels() + "-level paging (" + mode.linearBits() + "-bit linear addresses)");
        }
        long table = root;
        boolean writable = true, user = true, noExec = false;
        for (int level = mode.levels(); level >= 1; level--) {
            long ea = table + 8L * PagingMode.index(va, level);
            long entry = physicalLong(va, ea, level);
            if ((entry & PagingMode.P) == 0) {
                throw new GuestMemoryException(NOT_PRESENT, va, ea, level, "entry 0x" + Long.toHexString(entry) + " not present");
            }
            long reserved = entry & mode.reservedMask(level, entry);
            if (reserved != 0) {
                throw new GuestMemoryException(RESERVED_BITS, va, ea, level, "entry 0x" + Long.toHexString(entry)
                        + " has reserved bits 0x" + Long.toHexString(reserved));
            }
            writable &= (entry & PagingMode.RW) != 0;
            user &= (entry & PagingMode.US) != 0;
            noExec |= mode.nxe() && (entry & PagingMode.XD) != 0;
            if (PagingMode.isLeaf(level, entry)) {
                long size = PagingMode.pageSize(level);
                long frame = entry & mode.addressMask() & -size;
                return new Translation(va, frame | (va & (size - 1)), level, writable, user, noExec);
            }
            table = entry & mode.addressMask();
        }
        throw new AssertionError("walk ended without a leaf");
    }

    /** A page-table entry; an unreadable one is reported against the walk that needed it. */
    private long physicalLong(long va, long pa, int level) {
        try {
            memory.read(pa, scratch, 0, 8);
        } catch (PhysicalMemoryException e) {
            throw new GuestMemoryException(PHYSICAL_UNREADABLE, va, pa, level, "page-table entry unreadable: " + e.getMessage(), e);
        }
        return (long) LE_LONG.get(scratch, 0);
    }

    @Override
    public long read(long va, int size) {
        LinearMemory.checkSize(size);
        if ((va & 0xFFF) + size <= 4096) {
            long pa = physical(va);
            readPhysical(va, pa, scratch, 0, size);
            return size == 8 ? (long) LE_LONG.get(scratch, 0) : little(scratch, size);
        }
        byte[] b = new byte[8];
        read(va, b, 0, size);
        return little(b, size);
    }

    /** {@link #read(long, int)} with size 8: the JIT's most common load. */
    @Override
    public long readLong(long va) {
        if ((va & 0xFFF) <= 4088) {
            readPhysical(va, physical(va), scratch, 0, 8);
            return (long) LE_LONG.get(scratch, 0);
        }
        return read(va, 8);
    }

    @Override
    public void read(long va, byte[] dst, int off, int len) {
        java.util.Objects.checkFromIndexSize(off, len, dst.length);
        // every page is translated before any byte is copied: a fault in a later page leaves dst as it was
        long at = va;
        int done = 0;
        long[] pas = new long[(int) (((va & 0xFFF) + len + 4095) >>> 12)];
        for (int i = 0; done < len; i++) {
            int n = (int) Math.min(len - done, 4096 - (at & 0xFFF));
            pas[i] = physical(at);
            done += n;
            at += n;
        }
        at = va;
        done = 0;
        for (int i = 0; done < len; i++) {
            int n = (int) Math.min(len - done, 4096 - (at & 0xFFF));
            readPhysical(at, pas[i], dst, off + done, n);
            done += n;
            at += n;
        }
    }

    @Override
    public void write(long va, int size, long value) {
        throw new GuestMemoryException(READ_ONLY, va, -1, 0, "an address space never writes guest memory (use a CowOverlay)");
    }

    @Override
    public void write(long va, byte[] src, int off, int len) {
        write(va, len, 0);
    }

    private void readPhysical(long va, long pa, byte[] dst, int off, int len) {
        try {
            memory.read(pa, dst, off, len);
        } catch (PhysicalMemoryException e) {
            throw new GuestMemoryException(PHYSICAL_UNREADABLE, va, pa, 0, e.getMessage(), e);
        }
    }

    private static long little(byte[] b, int size) {
        long v = 0;
        for (int i = size - 1; i >= 0; i--) v = v << 8 | (b[i] & 0xFF);
        return v;
    }

    @Override
    public String toString() {
        return mode.levels() + "-level address space cr3=0x" + Long.toHexString(cr3) + " over " + memory.describe();
    }
}
