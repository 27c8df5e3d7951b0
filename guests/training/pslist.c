/*
 * pslist: the PIDs in /proc. Between the marks: open /proc, getdents64 until it is empty, parse
 * the numeric names into pids[] (the output buffer), close. Prints "self=<own pid>" then one
 * "pid=<n>" line per process.
 */
#include <stdio.h>
#include <unistd.h>
#include "vmsight_marks.h"

/* pid_max can reach 4,194,304 (PID_MAX_LIMIT): room for 262,144 processes, a 1 MiB answer */
#define MAX_PIDS (1 << 18)

struct dirent64_raw {
    unsigned long long d_ino;
    long long d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static int pids[MAX_PIDS];
static char dents[8192];

int main(void)
{
    int count = 0;
    long fd, n;
    pid_t self = getpid();

    vmsight_mark_in(NULL, 0);
    fd = vmsight_syscall3(VMSIGHT_SYS_OPENAT, VMSIGHT_AT_FDCWD, (long)"/proc", VMSIGHT_O_RDONLY_DIRECTORY);
    if (fd >= 0) {
        while ((n = vmsight_syscall3(VMSIGHT_SYS_GETDENTS64, fd, (long)dents, sizeof dents)) > 0) {
            for (long off = 0; off < n;) {
                struct dirent64_raw *d = (struct dirent64_raw *)(dents + off);
                int value = 0, numeric = d->d_name[0] != '\0';
                for (const char *p = d->d_name; *p; p++) {
                    if (*p < '0' || *p > '9') { numeric = 0; break; }
                    value = value * 10 + (*p - '0');
                }
                if (numeric && count < MAX_PIDS) pids[count++] = value;
                off += d->d_reclen;
            }
        }
        vmsight_syscall1(VMSIGHT_SYS_CLOSE, fd);
    }
    vmsight_mark_out(pids, (size_t)count * sizeof pids[0]);

    if (fd < 0) {
        fprintf(stderr, "pslist: cannot open /proc: errno %ld\n", -fd);
        return 1;
    }
    printf("self=%d\n", (int)self);
    for (int i = 0; i < count; i++) printf("pid=%d\n", pids[i]);
    return 0;
}
