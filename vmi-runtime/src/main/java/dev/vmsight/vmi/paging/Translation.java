package dev.vmsight.vmi.paging;

/**
 * Where a linear address lives and what its page allows. The U/S, R/W and XD bits are reported
 * as the walk combined them (a page is user-accessible only if every level says so); they are
 * enforced only by an address space created to enforce them.
 *
 * @param linear     the linear address translated
 * @param physical   its guest-physical address
 * @param level      level of the leaf: 1 (4 KiB), 2 (2 MiB), 3 (1 GiB)
 * @param writable   R/W at every level
 * @param user       U/S at every level
 * @param noExecute  XD at some level (with EFER.NXE)
 */
public record Translation(long linear, long physical, int level, boolean writable, boolean user, boolean noExecute) {

    /** Bytes the leaf maps. */
    public long pageSize() { return PagingMode.pageSize(level); }
}
