package dev.vmsight.ir.sys;

/**
 * A data access through paging, reported after it succeeded: linear address, physical address of
 * its first byte, {@code pa2} the physical address of the first byte on the next page when it
 * crosses one (-1 otherwise), size (1..8: larger accesses reach the MMU as 8-byte pieces), the
 * value read or written (little-endian, zero-extended) and the translation of the first byte's
 * page (null while paging is off).
 */
public record DataAccess(long va, long pa, long pa2, int size, long value, boolean write, Translation translation) { }
