/*
 * Marks that delimit the region a vmsight training program asks the OS something in.
 *
 *   vmsight_mark_in(buf, len)   called just before the region; buf/len name the program's input
 *                               (NULL, 0 when it has none)
 *   vmsight_mark_out(buf, len)  called just after the region; buf/len name the output buffer
 *
 * The tracer stops at these symbols (their addresses come from the static, non-PIE binary), so
 * they must exist as real calls: noinline + used keeps them out of the optimiser's reach, and the
 * asm memory barrier makes the compiler treat buf as read and memory as clobbered.
 *
 * Between the marks the programs use raw syscalls (vmsight_syscall*) rather than libc wrappers,
 * so the traced region holds the request to the kernel and little else.
 */
#ifndef VMSIGHT_MARKS_H
#define VMSIGHT_MARKS_H

#include <stddef.h>

__attribute__((noinline, used)) void vmsight_mark_in(void *buf, size_t len)
{
    __asm__ volatile("" : : "r"(buf), "r"(len) : "memory");
}

__attribute__((noinline, used)) void vmsight_mark_out(void *buf, size_t len)
{
    __asm__ volatile("" : : "r"(buf), "r"(len) : "memory");
}

static inline long vmsight_syscall1(long nr, long a)
{
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a) : "rcx", "r11", "memory");
    return ret;
}

static inline long vmsight_syscall3(long nr, long a, long b, long c)
{
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return ret;
}

static inline long vmsight_syscall4(long nr, long a, long b, long c, long d)
{
    long ret;
    register long r10 __asm__("r10") = d;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
    return ret;
}

/* x86-64 syscall numbers used between the marks. */
enum {
    VMSIGHT_SYS_READ = 0,
    VMSIGHT_SYS_CLOSE = 3,
    VMSIGHT_SYS_GETPID = 39,
    VMSIGHT_SYS_READLINKAT = 267,
    VMSIGHT_SYS_TIME = 201,
    VMSIGHT_SYS_GETDENTS64 = 217,
    VMSIGHT_SYS_OPENAT = 257,
};

#define VMSIGHT_AT_FDCWD (-100)
#define VMSIGHT_O_RDONLY_DIRECTORY 0200000 /* O_RDONLY | O_DIRECTORY */

/*
 * Reads the whole file at path into buf (at most cap - 1 bytes, NUL-terminated) with raw
 * syscalls only (openat, read until EOF, close), so it can run between the marks. Returns the
 * byte count, or the negative errno of openat.
 */
static inline long vmsight_read_file(const char *path, char *buf, long cap)
{
    long fd = vmsight_syscall3(VMSIGHT_SYS_OPENAT, VMSIGHT_AT_FDCWD, (long)path, 0);
    long n, total = 0;
    if (fd < 0) return fd;
    while (total < cap - 1 && (n = vmsight_syscall3(VMSIGHT_SYS_READ, fd, (long)(buf + total), cap - 1 - total)) > 0)
        total += n;
    vmsight_syscall1(VMSIGHT_SYS_CLOSE, fd);
    buf[total] = '\0';
    return total;
}

#endif
