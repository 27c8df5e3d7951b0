package dev.vmsight.ir.sys;

import dev.vmsight.ir.interp.CpuFault;
import dev.vmsight.ir.interp.MachineState;
import dev.vmsight.ir.interp.Memory;
import dev.vmsight.ir.uop.Loc;

import java.util.Arrays;

import static dev.vmsight.ir.sys.PagingFormat.*;

/**
 * Linear to physical translation for long mode (SDM vol. 3 §4.5-4.8): one walker over a
 * {@link PagingFormat}, permission checks (U/S, R/W with CR0.WP, XD with EFER.NXE, SMEP, SMAP
 * with RFLAGS.AC), accessed and dirty bits, a {@link Tlb}. The interpreter's loads and stores
 * come in through {@link Memory} as explicit accesses at the current privilege level.
 */
final class Mmu implements Memory {
    static final long CR0_WP = 1L << 16, CR0_PG = 1L << 31;
    static final long CR4_PGE = 1L << 7, CR4_LA57 = 1L << 12, CR4_PCIDE = 1L << 17, CR4_SMEP = 1L << 20, CR4_SMAP = 1L << 21;
    static final long EFER_SCE = 1, EFER_LMA = 1L << 10, EFER_NXE = 1L << 11;

    private final PhysMem ram;
    private final MachineState state;
    private final Tlb tlb = new Tlb();
    private final PagingFormat fourLevel;
    private final PagingFormat fiveLevel;
    private long walks;
    private long translations;
    private AccessObserver observer;
    private MachineObserver watcher;
    /** The TLB entry the last {@link #translate} used (null with paging off): the access's translation. */
    private Tlb.Entry lastEntry;

    Mmu(PhysMem ram, MachineState state, int physicalBits) {
        this.ram = ram;
        this.state = state;
        this.fourLevel = PagingFormat.fourLevel(physicalBits);
        this.fiveLevel = PagingFormat.fiveLevel(physicalBits);
    }

    PhysMem ram() { return ram; }

    Tlb tlb() { return tlb; }

    /** Page walks done so far (TLB misses and writes to clean pages). */
    long walks() { return walks; }

    /** The paging structure CR4 selects now. */
    PagingFormat format() {
        return (state.get(Loc.CR4) & CR4_LA57) != 0 ? fiveLevel : fourLevel;
    }

    // ---- Memory: the interpreter's explicit data accesses

    @Override
    public long read(long va, int size) { return read(va, size, Access.READ, false); }

    @Override
    public void write(long va, int size, long value) { write(va, size, value, false); }

    /** Reads with the given access kind; {@code implicit} marks supervisor accesses to system structures (IDT, GDT, TSS). */
    long read(long va, int size, Access access, boolean implicit) {
        if ((va & 0xFFF) + size <= 4096) {
            long pa = translate(va, access, implicit);
            long v = ram.read(pa, size);
            if (access != Access.FETCH) {
                report(va, pa, -1, size, v, false, lastEntry);
            }
            return v;
        }
        long[] pa = new long[size];
        Tlb.Entry first = null;
        for (int i = 0; i < size; i++) {   // in address order: a fault in the second page reports its first byte (CR2)
            pa[i] = translate(va + i, access, implicit);
            first = i == 0 ? lastEntry : first;
        }
        long v = 0;
        for (int i = size - 1; i >= 0; i--) {
            v = v << 8 | ram.read(pa[i], 1);
        }
        if (access != Access.FETCH) {
            report(va, pa[0], pa[(int) (4096 - (va & 0xFFF))], size, v, false, first);
        }
        return v;
    }

    void write(long va, int size, long value, boolean implicit) {
        if ((va & 0xFFF) + size <= 4096) {
            long pa = translate(va, Access.WRITE, implicit);
            ram.write(pa, size, value);
            report(va, pa, -1, size, value, true, lastEntry);
            return;
        }
        long[] pa = new long[size];
        Tlb.Entry first = null;
        for (int i = 0; i < size; i++) {   // both pages translated before any byte is written
            pa[i] = translate(va + i, Access.WRITE, implicit);
            first = i == 0 ? lastEntry : first;
        }
        for (int i = 0; i < size; i++) {
            ram.write(pa[i], 1, value >>> (8 * i));
        }
        report(va, pa[0], pa[(int) (4096 - (va & 0xFFF))], size, value, true, first);
    }

    private void report(long va, long pa, long pa2, int size, long value, boolean write, Tlb.Entry entry) {
        if (observer != null) {
            observer.onAccess(va, pa, size, value, write);
        }
        if (watcher != null) {
            watcher.access(new DataAccess(va, pa, pa2, size, value, write, entry == null ? null : entry.translation()));
        }
    }

    void observe(AccessObserver observer) { this.observer = observer; }

    void watch(MachineObserver watcher) { this.watcher = watcher; }

    /**
     * Fetches {@code want} instruction bytes at {@code rip} into {@code dst}, translating once per
     * page with execute checks. Stops early at a page that cannot be fetched and returns how many
     * bytes it got; if even the first byte cannot be fetched, throws that fault.
     */
    int fetch(long rip, byte[] dst, int want, Access access) {
        int n = 0;
        while (n < want) {
            long va = rip + n;
            long pa;
            try {
                pa = translate(va, access, false);
            } catch (CpuFault f) {
                if (n == 0) {
                    throw f;
                }
                return n;
            }
            int onPage = (int) Math.min(want - n, 4096 - (va & 0xFFF));
            for (int i = 0; i < onPage; i++) {
                dst[n + i] = (byte) ram.read(pa + i, 1);
            }
            n += onPage;
        }
        return n;
    }

    /** As {@link #fetch} but a fault on any page is thrown (the instruction needs those bytes). */
    int fetchOrThrow(long rip, byte[] dst, int want) {
        int n = 0;
        while (n < want) {
            long va = rip + n;
            long pa = translate(va, Access.FETCH, false);
            int onPage = (int) Math.min(want - n, 4096 - (va & 0xFFF));
            for (int i = 0; i < onPage; i++) {
                dst[n + i] = (byte) ram.read(pa + i, 1);
            }
            n += onPage;
        }
        return n;
    }

    /**
     * The physical address of {@code va} for an access of this kind at the current CPL, or a
     * {@link CpuFault}: #GP(0) for a non-canonical address, #PF with error code and CR2 address.
     */
    long translate(long va, Access access, boolean implicit) {
        if ((state.get(Loc.CR0) & CR0_PG) == 0) {
            lastEntry = null;
            return va;
        }
        if ((state.get(Loc.EFER) & EFER_LMA) == 0) {
            throw new UnsupportedOperationException("paging outside long mode (CR0.PG without EFER.LMA) is not emulated");
        }
        PagingFormat f = format();
        if (!f.isCanonical(va)) {
            throw new CpuFault(CpuFault.GP, 0, 0, "#GP(0): non-canonical address 0x" + Long.toHexString(va)
                    + " (" + f.linearBits() + "-bit linear addresses)");
        }
        boolean user = state.cpl() == 3 && !implicit;
        Tlb.Entry e = tlb.get(va);
        if (e == null || access == Access.WRITE && !e.dirty()) {
            e = walk(f, va, access, user, implicit);
        } else {
            String why = denied(access, user, implicit, e.writable(), e.user(), e.noExec());
            if (why != null) {
                throw PageFault.of(va, errorBase(access, user) | PageFault.P, 1, why + " (TLB)");
            }
        }
        lastEntry = e;
        return e.frame() | (va & 0xFFF);
    }

    private int errorBase(Access access, boolean user) {
        int err = (access == Access.WRITE ? PageFault.W : 0) | (user ? PageFault.U : 0);
        // I/D is reported for fetches only when NX or SMEP could have caused one (SDM §4.7)
        boolean idReported = (state.get(Loc.EFER) & EFER_NXE) != 0 || (state.get(Loc.CR4) & CR4_SMEP) != 0;
        return access == Access.FETCH && idReported ? err | PageFault.ID : err;
    }

    /** One walk from CR3 down to the leaf: A on every entry used, D on the leaf for writes. */
    private Tlb.Entry walk(PagingFormat f, long va, Access access, boolean user, boolean implicit) {
        walks++;
        boolean nxe = (state.get(Loc.EFER) & EFER_NXE) != 0;
        int err = errorBase(access, user);
        long table = state.get(Loc.CR3) & f.addressMask();
        boolean writable = true, userPage = true, noExec = false;
        long[] entryAddresses = new long[f.levels()];
        long[] entryValues = new long[f.levels()];
        for (int level = f.levels(); level >= 1; level--) {
            long ea = table + 8L * f.index(va, level);
            long entry = ram.read(ea, 8);
            entryAddresses[f.levels() - level] = ea;
            entryValues[f.levels() - level] = entry;
            if ((entry & P) == 0) {
                throw PageFault.of(va, err, level, "entry 0x" + Long.toHexString(entry) + " at physical 0x"
                        + Long.toHexString(ea) + " not present");
            }
            if ((entry & f.reservedMask(level, entry, nxe)) != 0) {
                throw PageFault.of(va, err | PageFault.P | PageFault.RSVD, level, "reserved bits in entry 0x"
                        + Long.toHexString(entry) + " at physical 0x" + Long.toHexString(ea));
            }
            writable &= (entry & RW) != 0;
            userPage &= (entry & US) != 0;
            noExec |= nxe && (entry & XD) != 0;
            boolean leaf = level == 1 || (entry & PS) != 0 && f.isLargeLeafLevel(level);
            if (!leaf) {
                if ((entry & A) == 0) {
                    ram.write(ea, 8, entry | A);
                }
                table = entry & f.addressMask();
                continue;
            }
            String why = denied(access, user, implicit, writable, userPage, noExec);
            if (why != null) {
                throw PageFault.of(va, err | PageFault.P, level, why);
            }
            long updated = entry | A | (access == Access.WRITE ? D : 0);
            if (updated != entry) {
                ram.write(ea, 8, updated);
            }
            long size = f.pageSize(level);
            long frame = (entry & f.leafAddressMask(level)) + (va & (size - 1) & ~0xFFFL);
            int read = f.levels() - level + 1;
            Translation t = new Translation(translations++, state.get(Loc.CR3), va & -size, size, frame - (va & (size - 1) & ~0xFFFL),
                    Arrays.copyOf(entryAddresses, read), Arrays.copyOf(entryValues, read));
            Tlb.Entry e = new Tlb.Entry(frame, va & -size, size, writable, userPage, noExec,
                    (updated & D) != 0, (entry & G) != 0, t);
            tlb.put(va, e);
            return e;
        }
        throw new AssertionError("walk ended without a leaf");
    }

    /** Why the access is refused, or null (SDM §4.6). */
    private String denied(Access access, boolean user, boolean implicit, boolean writable, boolean userPage, boolean noExec) {
        long cr4 = state.get(Loc.CR4);
        if (access == Access.FETCH && noExec) {
            return "fetch from a no-execute page";
        }
        if (user) {
            if (!userPage) {
                return "user-mode access to a supervisor page";
            }
            return access == Access.WRITE && !writable ? "user-mode write to a read-only page" : null;
        }
        if (access == Access.FETCH) {
            return userPage && (cr4 & CR4_SMEP) != 0 ? "SMEP: supervisor fetch from a user page" : null;
        }
        // SMAP: explicit supervisor data accesses to user pages are allowed only with RFLAGS.AC; implicit ones never
        if (userPage && (cr4 & CR4_SMAP) != 0 && (implicit || state.get(Loc.AC) == 0)) {
            return "SMAP: supervisor " + (access == Access.WRITE ? "write to" : "read of") + " a user page";
        }
        if (access == Access.WRITE && !writable && (state.get(Loc.CR0) & CR0_WP) != 0) {
            return "supervisor write to a read-only page with CR0.WP";
        }
        return null;
    }

    /** invlpg: drop the translation of {@code va} (the whole large page if it came from one). */
    void invalidatePage(long va) { tlb.invalidatePage(va); }

    /** A CR3 write: everything but global pages when CR4.PGE (SDM §4.10.4.1). */
    void cr3Written() {
        if ((state.get(Loc.CR4) & CR4_PGE) != 0) {
            tlb.flushNonGlobal();
        } else {
            tlb.flushAll();
        }
    }

    /** CR0/CR4/EFER changes that alter translation, INVPCID: drop everything. */
    void flushAll() { tlb.flushAll(); }
}
