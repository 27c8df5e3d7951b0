/*
 * vmsight CPU oracle harness: runs one x86-64 instruction natively on a given register, flag
 * and memory state and returns the resulting state. Long-lived; speaks a fixed binary protocol
 * on stdin/stdout (all integers little-endian):
 *
 *   startup  -> "VMSH" u32 version u64 insn_addr u64 window_addr u32 window_size
 *   request  <- u8 cmd (1 = run, 0 = quit) u8 len u8 code[32] (one instruction or a short sequence)
 *               u64 gpr[16] u64 rflags u64 xmm[8] (xmm0..xmm3 as low, high) u8 window[W]
 *   response -> u8 status (0 ok, else the signal number) u64 gpr[16] u64 rflags u64 xmm[8] u8 window[W]
 *               u8 outside_dirty (1 if a byte of the data pages outside the window changed)
 *
 * The instruction runs in generated code at a fixed address, between a prologue that loads
 * every register (rsp included) with movabs and the flags with popfq, and an epilogue that
 * stores them with moffs moves and pushfq on a private stack. Memory operands point into fixed
 * data pages. Signals run on an alternate stack (rsp may be anything) and siglongjmp back, so
 * a #DE (SIGFPE) or a wild access is a result, not a crash.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CODE_ADDR   0x20000000UL
#define INSN_OFFSET 0x100
#define DATA_ADDR   0x10000000UL
#define DATA_SIZE   0x3000
#define WINDOW_ADDR 0x10000F80UL
#define WINDOW_SIZE 256
#define SAVE_ADDR   0x30000000UL   /* host rsp, outputs, private stack */

struct save {
    uint64_t host_rsp;
    uint64_t gpr[16];
    uint64_t rflags;
    uint64_t xmm_in[8];
    uint64_t xmm_out[8];
};

static sigjmp_buf jump;
static volatile sig_atomic_t caught;

static void on_signal(int sig) {
    caught = sig;
    siglongjmp(jump, sig);
}

static uint8_t *emit(uint8_t *p, const void *bytes, size_t n) {
    memcpy(p, bytes, n);
    return p + n;
}

static uint8_t *emit64(uint8_t *p, uint64_t v) { return emit(p, &v, 8); }

/* movabs reg, imm64 */
static uint8_t *mov_imm(uint8_t *p, int reg, uint64_t v) {
    *p++ = 0x48 | (reg >= 8 ? 1 : 0);
    *p++ = 0xB8 + (reg & 7);
    return emit64(p, v);
}

/* mov rax, reg */
static uint8_t *mov_rax_from(uint8_t *p, int reg) {
    *p++ = 0x48 | (reg >= 8 ? 4 : 0);
    *p++ = 0x89;
    *p++ = 0xC0 | ((reg & 7) << 3);
    return p;
}

static int read_full(void *buf, size_t n) { return fread(buf, 1, n, stdin) == n; }

int main(void) {
    uint8_t *code = mmap((void *) CODE_ADDR, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    uint8_t *data = mmap((void *) DATA_ADDR, DATA_SIZE, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    uint8_t *savep = mmap((void *) SAVE_ADDR, 16384, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (code != (void *) CODE_ADDR || data != (void *) DATA_ADDR || savep != (void *) SAVE_ADDR) {
        fprintf(stderr, "harness: cannot map fixed pages\n");
        return 2;
    }
    struct save *save = (struct save *) savep;
    uint64_t private_stack_top = SAVE_ADDR + 16384 - 64;

    stack_t alt = {.ss_sp = malloc(65536), .ss_size = 65536, .ss_flags = 0};
    sigaltstack(&alt, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    int sigs[] = {SIGFPE, SIGSEGV, SIGILL, SIGBUS, SIGTRAP};
    for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        sigaction(sigs[i], &sa, NULL);
    }

    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    uint32_t version = 3, wsize = WINDOW_SIZE;
    uint64_t insn_addr = CODE_ADDR + INSN_OFFSET, waddr = WINDOW_ADDR;
    fwrite("VMSH", 1, 4, stdout);
    fwrite(&version, 4, 1, stdout);
    fwrite(&insn_addr, 8, 1, stdout);
    fwrite(&waddr, 8, 1, stdout);
    fwrite(&wsize, 4, 1, stdout);
    fflush(stdout);

    for (;;) {
        uint8_t cmd, len, insn[32];
        uint64_t gpr[16], rflags, xmm[8];
        uint8_t window[WINDOW_SIZE];
        if (!read_full(&cmd, 1) || cmd == 0) {
            return 0;
        }
        if (!read_full(&len, 1) || !read_full(insn, 32) || !read_full(gpr, sizeof gpr)
            || !read_full(&rflags, 8) || !read_full(xmm, sizeof xmm) || !read_full(window, WINDOW_SIZE) || len > 32) {
            fprintf(stderr, "harness: truncated or bad request\n");
            return 3;
        }
        memset(data, 0, DATA_SIZE);
        memcpy(data + (WINDOW_ADDR - DATA_ADDR), window, WINDOW_SIZE);

        /* prologue */
        uint8_t *p = code;
        static const uint8_t push_callee[] = {0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57};
        p = emit(p, push_callee, sizeof push_callee);
        p = mov_rax_from(p, 4);                                   /* mov rax, rsp */
        *p++ = 0x48; *p++ = 0xA3; p = emit64(p, (uint64_t) &save->host_rsp);
        p = mov_imm(p, 0, private_stack_top);
        *p++ = 0x48; *p++ = 0x89; *p++ = 0xC4;                     /* mov rsp, rax */
        p = mov_imm(p, 0, rflags);
        *p++ = 0x50; *p++ = 0x9D;                                  /* push rax; popfq */
        memcpy(save->xmm_in, xmm, sizeof xmm);
        p = mov_imm(p, 0, (uint64_t) save->xmm_in);
        static const uint8_t load_xmm[] = {0xF3, 0x0F, 0x6F, 0x00, 0xF3, 0x0F, 0x6F, 0x48, 0x10,
                                           0xF3, 0x0F, 0x6F, 0x50, 0x20, 0xF3, 0x0F, 0x6F, 0x58, 0x30};
        p = emit(p, load_xmm, sizeof load_xmm);                    /* movdqu xmm0..3, [rax + 16n] */
        for (int r = 1; r < 16; r++) {
            p = mov_imm(p, r, gpr[r]);
        }
        p = mov_imm(p, 0, gpr[0]);
        while (p < code + INSN_OFFSET) {
            *p++ = 0x90;
        }
        p = emit(p, insn, len);
        /* epilogue */
        *p++ = 0x48; *p++ = 0xA3; p = emit64(p, (uint64_t) &save->gpr[0]);
        for (int r = 1; r < 16; r++) {
            p = mov_rax_from(p, r);
            *p++ = 0x48; *p++ = 0xA3; p = emit64(p, (uint64_t) &save->gpr[r]);
        }
        p = mov_imm(p, 0, (uint64_t) save->xmm_out);
        static const uint8_t store_xmm[] = {0xF3, 0x0F, 0x7F, 0x00, 0xF3, 0x0F, 0x7F, 0x48, 0x10,
                                            0xF3, 0x0F, 0x7F, 0x50, 0x20, 0xF3, 0x0F, 0x7F, 0x58, 0x30};
        p = emit(p, store_xmm, sizeof store_xmm);                  /* movdqu [rax + 16n], xmm0..3 */
        p = mov_imm(p, 0, private_stack_top);
        *p++ = 0x48; *p++ = 0x89; *p++ = 0xC4;                     /* mov rsp, rax */
        *p++ = 0x9C; *p++ = 0x58;                                  /* pushfq; pop rax */
        *p++ = 0x48; *p++ = 0xA3; p = emit64(p, (uint64_t) &save->rflags);
        *p++ = 0xFC;                                               /* cld: the C ABI needs DF = 0 */
        *p++ = 0x48; *p++ = 0xA1; p = emit64(p, (uint64_t) &save->host_rsp);
        *p++ = 0x48; *p++ = 0x89; *p++ = 0xC4;                     /* mov rsp, rax */
        static const uint8_t pop_callee[] = {0x41, 0x5F, 0x41, 0x5E, 0x41, 0x5D, 0x41, 0x5C, 0x5D, 0x5B, 0xC3};
        p = emit(p, pop_callee, sizeof pop_callee);

        uint8_t status = 0;
        caught = 0;
        if (sigsetjmp(jump, 1) == 0) {
            ((void (*)(void)) code)();
        } else {
            __asm__ volatile("cld");
            status = (uint8_t) caught;
        }
        uint8_t outside = 0;
        for (size_t i = 0; i < DATA_SIZE; i++) {
            if (i == WINDOW_ADDR - DATA_ADDR) {
                i += WINDOW_SIZE - 1;
                continue;
            }
            if (data[i] != 0) {
                outside = 1;
                break;
            }
        }
        fwrite(&status, 1, 1, stdout);
        fwrite(status == 0 ? save->gpr : gpr, 8, 16, stdout);
        fwrite(status == 0 ? &save->rflags : &rflags, 8, 1, stdout);
        fwrite(status == 0 ? save->xmm_out : xmm, 8, 8, stdout);
        fwrite(data + (WINDOW_ADDR - DATA_ADDR), 1, WINDOW_SIZE, stdout);
        fwrite(&outside, 1, 1, stdout);
        fflush(stdout);
    }
}
