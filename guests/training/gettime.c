/* gettime: seconds since the epoch from the time syscall. Prints "time=<n>". */
#include <stdio.h>
#include "vmsight_marks.h"

int main(void)
{
    long now = 0;
    vmsight_mark_in(NULL, 0);
    now = vmsight_syscall1(VMSIGHT_SYS_TIME, 0);
    vmsight_mark_out(&now, sizeof now);
    if (now < 0) {
        fprintf(stderr, "gettime: time syscall failed: %ld\n", now);
        return 1;
    }
    printf("time=%ld\n", now);
    return 0;
}
