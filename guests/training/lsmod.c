/*
 * lsmod: the loaded kernel modules' base addresses. Between the marks: open /proc/modules, read
 * it whole, close, and parse each line's base address (6th field) into bases[] (the output
 * buffer). Prints one "module=<name> base=0x<hex>" line per module, names taken from the text.
 */
#include <stdio.h>
#include <string.h>
#include "vmsight_marks.h"

#define MAX_MODULES 1024

static char text[65536];
static unsigned long bases[MAX_MODULES];

int main(void)
{
    long total;
    int count = 0;

    vmsight_mark_in(NULL, 0);
    total = vmsight_read_file("/proc/modules", text, sizeof text);
    if (total >= 0) {
        /* Each line: name size refcount deps state base. */
        for (long i = 0, field = 0; i < total && count < MAX_MODULES; i++) {
            if (text[i] == '\n') { field = 0; continue; }
            if (text[i] == ' ') { field++; continue; }
            if (field == 5 && text[i] == '0' && i + 1 < total && text[i + 1] == 'x') {
                unsigned long v = 0;
                for (i += 2; i < total; i++) {
                    char c = text[i];
                    if (c >= '0' && c <= '9') v = v * 16 + (unsigned long)(c - '0');
                    else if (c >= 'a' && c <= 'f') v = v * 16 + (unsigned long)(c - 'a' + 10);
                    else break;
                }
                bases[count++] = v;
                i--; /* let the loop see the separator */
                field = 6;
            }
        }
    }
    vmsight_mark_out(bases, (size_t)count * sizeof bases[0]);

    if (total < 0) {
        fprintf(stderr, "lsmod: cannot open /proc/modules: errno %ld\n", -total);
        return 1;
    }
    int index = 0;
    for (char *line = strtok(text, "\n"); line && index < count; line = strtok(NULL, "\n")) {
        char name[64];
        if (sscanf(line, "%63s", name) == 1) printf("module=%s base=0x%016lx\n", name, bases[index++]);
    }
    return 0;
}
