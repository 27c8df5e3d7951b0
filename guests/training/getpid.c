/* getpid: the current process's PID. Prints "pid=<n>". */
#include <stdio.h>
#include "vmsight_marks.h"

int main(void)
{
    long pid = 0;
    vmsight_mark_in(NULL, 0);
    pid = vmsight_syscall1(VMSIGHT_SYS_GETPID, 0);
    vmsight_mark_out(&pid, sizeof pid);
    printf("pid=%ld\n", pid);
    return 0;
}
