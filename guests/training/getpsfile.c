/*
 * getpsfile PID: the process's executable name. The input is the PID (an int); between the marks
 * the program builds "/proc/PID/comm", reads it into name[] (the output buffer) and closes it.
 * Prints "pid=<n> name=<comm>".
 */
#include <stdio.h>
#include <stdlib.h>
#include "vmsight_marks.h"

static char path[64];
static char name[64];

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: getpsfile PID\n");
        return 2;
    }
    int pid = atoi(argv[1]);
    long fd, n = -1;

    vmsight_mark_in(&pid, sizeof pid);
    {
        char digits[16];
        int d = 0, i = 0;
        unsigned v = (unsigned)pid;
        do { digits[d++] = (char)('0' + v % 10); v /= 10; } while (v);
        for (const char *p = "/proc/"; *p; p++) path[i++] = *p;
        while (d) path[i++] = digits[--d];
        for (const char *p = "/comm"; *p; p++) path[i++] = *p;
        path[i] = '\0';
    }
    fd = vmsight_syscall3(VMSIGHT_SYS_OPENAT, VMSIGHT_AT_FDCWD, (long)path, 0);
    if (fd >= 0) {
        n = vmsight_syscall3(VMSIGHT_SYS_READ, fd, (long)name, sizeof name - 1);
        vmsight_syscall1(VMSIGHT_SYS_CLOSE, fd);
        if (n > 0 && name[n - 1] == '\n') n--;
        name[n > 0 ? n : 0] = '\0';
    }
    vmsight_mark_out(name, sizeof name);

    if (fd < 0 || n <= 0) {
        fprintf(stderr, "getpsfile: no process %d (%s)\n", pid, path);
        return 1;
    }
    printf("pid=%d name=%s\n", pid, name);
    return 0;
}
