package dev.vmsight.ir.sys;

/** The kind of a linear-memory access, as the paging checks distinguish them. */
enum Access {
    READ, WRITE, FETCH
}
