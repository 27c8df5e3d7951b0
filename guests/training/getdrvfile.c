/*
 * getdrvfile BASE: the name of the kernel module loaded at BASE (hex, as /proc/modules shows it).
 * The input is the base address (an unsigned long); between the marks the program reads
 * /proc/modules and copies the name of the module whose base matches into name[] (the output
 * buffer). Prints "base=<0x...> module=<name>".
 */
#include <stdio.h>
#include <stdlib.h>
#include "vmsight_marks.h"

static char text[65536];
static char name[64];

static unsigned long parse_hex(const char *p)
{
    unsigned long v = 0;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) p += 2;
    for (;; p++) {
        int digit;
        if (*p >= '0' && *p <= '9') digit = *p - '0';
        else if (*p >= 'a' && *p <= 'f') digit = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F') digit = *p - 'A' + 10;
        else return v;
        v = v * 16 + (unsigned long)digit;
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: getdrvfile BASE\n");
        return 2;
    }
    unsigned long base = strtoul(argv[1], NULL, 16);
    long total;

    vmsight_mark_in(&base, sizeof base);
    total = vmsight_read_file("/proc/modules", text, sizeof text);
    if (total >= 0) {
        /* Each line: name size refcount deps state base; the base is the 6th field. */
        for (char *line = text; *line && !name[0];) {
            char *field = line, *end = line;
            int index = 0;
            while (*end && *end != '\n') end++;
            for (char *p = line; p <= end && index < 6; p++) {
                if (p == end || *p == ' ') {
                    if (index == 5 && parse_hex(field) == base) {
                        int i = 0;
                        for (char *q = line; *q != ' ' && i < (int)sizeof name - 1; q++) name[i++] = *q;
                        name[i] = '\0';
                    }
                    index++;
                    field = p + 1;
                }
            }
            line = *end ? end + 1 : end;
        }
    }
    vmsight_mark_out(name, sizeof name);

    if (total < 0) {
        fprintf(stderr, "getdrvfile: cannot open /proc/modules: errno %ld\n", -total);
        return 1;
    }
    if (!name[0]) {
        fprintf(stderr, "getdrvfile: no module at base 0x%lx\n", base);
        return 1;
    }
    printf("base=0x%lx module=%s\n", base, name);
    return 0;
}
