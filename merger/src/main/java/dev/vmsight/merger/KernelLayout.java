package dev.vmsight.merger;

/**
 * Where one boot of an x86-64 Linux kernel put what KASLR moves: the kernel image ({@code _text},
 * slid in 2 MiB steps inside the 1 GiB image window at {@code __START_KERNEL_map}) and the bases
 * of the three randomised memory regions ({@code page_offset_base}: the direct map of all
 * physical memory, {@code vmalloc_base}, {@code vmemmap_base}: the page array). A program holds
 * addresses of its training boot; {@link #relocate} moves one to the same place in another boot,
 * by the region it belongs to. Module space is not here: modules load at per-boot addresses with
 * or without KASLR, and no program may hold one.
 *
 * @param text       address of {@code _text}
 * @param pageOffset value of {@code page_offset_base}
 * @param vmalloc    value of {@code vmalloc_base}
 * @param vmemmap    value of {@code vmemmap_base}
 */
public record KernelLayout(long text, long pageOffset, long vmalloc, long vmemmap) {

    /** A nokaslr boot of a 4-level kernel (Documentation/arch/x86/x86_64/mm.rst). */
    public static final KernelLayout NOKASLR = new KernelLayout(0xffffffff81000000L, 0xffff888000000000L,
            0xffffc90000000000L, 0xffffea0000000000L);

    /** The kernel image window: __START_KERNEL_map to the start of module space (KERNEL_IMAGE_SIZE, 1 GiB). */
    public static final long IMAGE_WINDOW_START = 0xffffffff80000000L;
    public static final long IMAGE_WINDOW_END = 0xffffffffc0000000L;

    /** The largest extent of each region in a 4-level layout: direct map 64 TiB, vmalloc 32 TiB, vmemmap 1 TiB. */
    static final long DIRECT_MAP_MAX = 64L << 40, VMALLOC_MAX = 32L << 40, VMEMMAP_MAX = 1L << 40;

    /** Whether {@code va} lies in the kernel image window (kernel text, data and bss of any slide). */
    public static boolean inImageWindow(long va) {
        return Long.compareUnsigned(va, IMAGE_WINDOW_START) >= 0 && Long.compareUnsigned(va, IMAGE_WINDOW_END) < 0;
    }

    /** How far the kernel image of {@code live} lies from this one's. */
    public long imageSlide(KernelLayout live) { return live.text - text; }

    /**
     * {@code va}, an address of this boot, at the same place in boot {@code live}: an image
     * address moves with the image, an address in one of the three regions with that region's
     * base; any other value (user addresses, module space, the fixmap, plain numbers) is returned
     * as it is.
     */
    public long relocate(long va, KernelLayout live) {
        if (inImageWindow(va)) return va + (live.text - text);
        if (within(va, pageOffset, DIRECT_MAP_MAX)) return va + (live.pageOffset - pageOffset);
        if (within(va, vmalloc, VMALLOC_MAX)) return va + (live.vmalloc - vmalloc);
        if (within(va, vmemmap, VMEMMAP_MAX)) return va + (live.vmemmap - vmemmap);
        return va;
    }

    /** Whether {@code va} is in [base, base + size) and below the next region's base (regions never overlap). */
    private boolean within(long va, long base, long size) {
        if (Long.compareUnsigned(va, base) < 0 || Long.compareUnsigned(va - base, size) >= 0) return false;
        for (long other : new long[] {pageOffset, vmalloc, vmemmap}) {
            if (Long.compareUnsigned(other, base) > 0 && Long.compareUnsigned(va, other) >= 0) return false;
        }
        return true;
    }

    @Override
    public String toString() {
        return "_text 0x" + Long.toHexString(text) + ", page_offset_base 0x" + Long.toHexString(pageOffset)
                + ", vmalloc_base 0x" + Long.toHexString(vmalloc) + ", vmemmap_base 0x" + Long.toHexString(vmemmap);
    }
}
