/*
 * lsmod: the loaded kernel modules and their base addresses. Between the marks: open
 * /proc/modules, read it whole into text[] (the output buffer), close. Prints one
 * "module=<name> base=<0x...>" line per module (base as /proc/modules shows it).
 */
#include <stdio.h>
#include <string.h>
#include "vmsight_marks.h"

static char text[65536];

int main(void)
{
    long fd, n, total = 0;

    vmsight_mark_in(NULL, 0);
    fd = vmsight_syscall3(VMSIGHT_SYS_OPENAT, VMSIGHT_AT_FDCWD, (long)"/proc/modules", 0);
    if (fd >= 0) {
        while (total < (long)sizeof text - 1
               && (n = vmsight_syscall3(VMSIGHT_SYS_READ, fd, (long)(text + total), sizeof text - 1 - total)) > 0)
            total += n;
        vmsight_syscall1(VMSIGHT_SYS_CLOSE, fd);
    }
    vmsight_mark_out(text, (size_t)total);

    if (fd < 0) {
        fprintf(stderr, "lsmod: cannot open /proc/modules: errno %ld\n", -fd);
        return 1;
    }
    text[total] = '\0';
    /* Each line: name size refcount deps state base */
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char name[64], base[32];
        if (sscanf(line, "%63s %*s %*s %*s %*s %31s", name, base) == 2)
            printf("module=%s base=%s\n", name, base);
    }
    return 0;
}
