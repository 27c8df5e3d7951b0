/* Multiboot (v1) stub: 32-bit entry -> long mode -> the lockstep window starting at `window`.
   Assemble with --defsym LA57=1 for 5-level paging (QEMU -cpu ...,+la57), LA57=0 for 4-level. */
        .set MB_MAGIC, 0x1BADB002
        .set MB_FLAGS, 0
        .section .text
        .code32
        .globl _start
        .align 4
mbheader:
        .long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)
_start:
        cli
        mov $tss, %eax                  /* TSS descriptor base */
        mov %ax, tss_desc + 2
        shr $16, %eax
        mov %al, tss_desc + 4
        mov %ah, tss_desc + 7
        lgdt gdt_ptr
        mov %cr4, %eax
        .if LA57
        or $0x1020, %eax                /* PAE | LA57: 5-level paging */
        .else
        or $0x20, %eax                  /* PAE */
        .endif
        or $0x300000, %eax              /* SMEP | SMAP */
        mov %eax, %cr4
        .if LA57
        mov $pml5, %eax
        .else
        mov $pml4, %eax
        .endif
        mov %eax, %cr3
        mov $0xC0000080, %ecx
        rdmsr
        or $0x901, %eax                 /* SCE | LME | NXE */
        wrmsr
        mov %cr0, %eax
        or $0x80010001, %eax            /* PG | WP | PE */
        mov %eax, %cr0
        ljmp $0x10, $long64
        .code64
long64:
        mov $0x18, %ax
        mov %ax, %ss
        mov %ax, %ds
        mov %ax, %es
        lidt idt_ptr
        mov $0x40, %ax
        ltr %ax
        mov $0xC0000081, %ecx           /* STAR: sysret base 0x23, syscall CS 0x10 */
        xor %eax, %eax
        mov $0x00230010, %edx
        wrmsr
        mov $0xC0000082, %ecx           /* LSTAR */
        mov $syscall_entry, %eax
        xor %edx, %edx
        wrmsr
        mov $0xC0000084, %ecx           /* SFMASK: TF DF IF IOPL AC NT */
        mov $0x47700, %eax
        wrmsr
        mov $0xC0000102, %ecx           /* KERNEL_GS_BASE */
        mov $percpu, %eax
        wrmsr
        mov $kstack_top, %rsp
        mov $14, %edi
        mov $pf_handler, %esi
        mov $0x8E01, %edx               /* interrupt gate, DPL 0, IST1 */
        call set_gate
        mov $13, %edi
        mov $gp_handler, %esi
        mov $0x8E00, %edx
        call set_gate
        mov $3, %edi
        mov $bp_handler, %esi
        mov $0xEF00, %edx               /* trap gate, DPL 3 */
        call set_gate
        mov $6, %edi
        mov $ud_handler, %esi
        mov $0x8F00, %edx               /* trap gate, DPL 0 */
        call set_gate
        mov $8, %edi
        mov $df_handler, %esi
        mov $0x8E02, %edx               /* #DF: interrupt gate, IST2 */
        call set_gate
        mov $0x80, %edi
        mov $bp_handler, %esi
        mov $0x8E00, %edx               /* DPL 0: int $0x80 from CPL 3 is #GP */
        call set_gate
        .globl window
window:                                 /* lockstep starts here */
        movq $0x1111, 0x800000          /* 4 KiB page: A and D on the leaf */
        mov 0x801008, %rax              /* read-only, no-execute 4 KiB page: A only */
        mov 0x40100000, %rbx            /* 1 GiB page: physical 0x100000, this code */
        movq %rax, 0x801000             /* supervisor write to a read-only page with CR0.WP: #PF(P|W) */
        movq $0x802003, pt              /* remap 0x800000 to 0x802000 ... */
        invlpg 0x800000                 /* ... and drop the stale translation */
        mov 0x800000, %rcx
        mov 0x400000, %rax              /* SMAP: a supervisor read of a user page, AC clear: #PF(P) */
        stac
        mov 0x400000, %rax              /* allowed with AC set */
        clac
        mov $0x801000, %rax
        call *%rax                      /* fetch from a no-execute page: #PF(P|I/D) */
        mov $user_start, %rax
        call *%rax                      /* SMEP: supervisor fetch from a user page: #PF(P|I/D) */
        push %rax                       /* RSP now 8 mod 16 */
        ud2                             /* #UD at CPL 0: no stack switch, RSP aligned down to 16 */
        pop %rax
        mov $0x3b, %ax                  /* FS from a GDT descriptor with base 0x12345678 */
        mov %ax, %fs
        xor %eax, %eax                  /* a null FS selector */
        mov %ax, %fs
        andb $0x7f, idt + 13 * 16 + 5   /* #GP's gate not present: the first #GP becomes #NP, then #DF */
        pushq $0x2b                     /* SS */
        pushq $0x5ff000                 /* RSP */
        pushq $0x202                    /* RFLAGS */
        pushq $0x33                     /* CS */
        pushq $user_start               /* RIP */
        iretq
        .section .user, "ax"
        .globl user_start
user_start:
        mov $0x1234, %rbx
        push %rbx                       /* user stack: A/D bits, CPL 3 write */
        pop %rbx
        mov 0x600000, %rax              /* not present: #PF on IST1 (handler skips 8 bytes) */
        mov $39, %eax
        syscall
        cli                             /* #GP(0) at CPL 3 */
        int3                            /* DPL 3 trap gate */
        int $0x80                       /* DPL 0 gate: #GP(0x402) */
        ud2                             /* #UD */
        pushfq
        popfq
        mov 0x600008, %rcx              /* #PF again */
        nop
        .globl window_end
window_end:
        jmp window_end

        .text

set_gate:                               /* edi vector, esi handler, dx = attributes << 8 | ist */
        shl $4, %edi
        lea idt(%rdi), %rdi
        mov %esi, %eax
        and $0xffff, %eax
        or $0x100000, %eax
        mov %eax, (%rdi)
        mov %dx, 4(%rdi)
        mov %esi, %eax
        shr $16, %eax
        mov %ax, 6(%rdi)
        movq $0, 8(%rdi)
        ret

syscall_entry:
        swapgs
        mov %rsp, %gs:16                /* the user RSP into per-CPU data, then the kernel stack */
        mov $kstack_top, %rsp
        mov %rcx, %r9
        mov $0xC0000082, %ecx           /* rdmsr LSTAR */
        rdmsr
        mov %r9, %rcx
        mov %cr3, %r10                  /* a CR3 write and an invlpg: TLB flushes */
        mov %r10, %cr3
        invlpg (%r9)
        pushfq
        popfq
        mov %gs:8, %rax
        mov %gs:16, %rsp
        swapgs
        sysretq

pf_handler:                             /* error code, CR2, frame into registers; then resume */
        pop %r12
        mov %cr2, %rdx
        test $0x10, %r12
        jnz 1f
        addq $8, (%rsp)                 /* a data access: skip the faulting 8-byte mov */
        jmp 2f
1:      mov 24(%rsp), %r11              /* a fetch fault after a call: return to the caller */
        mov (%r11), %r10
        mov %r10, (%rsp)
        addq $8, 24(%rsp)
2:      mov 8(%rsp), %r14               /* CS */
        mov 16(%rsp), %r15              /* RFLAGS */
        mov 32(%rsp), %rsi              /* SS */
        mov %rsp, %rdi                  /* the IST1 stack */
        iretq
gp_handler:                             /* skip cli (error 0, 1 byte) or int $0x80 (error 0x402, 2 bytes) */
        pop %r13
        test %r13, %r13
        je 1f
        addq $2, (%rsp)
        jmp 2f
1:      addq $1, (%rsp)
2:      mov 24(%rsp), %rbp              /* the user RSP */
        iretq
df_handler:                             /* drop the error code (0), make #GP's gate present, retry */
        pop %r11
        orb $0x80, idt + 13 * 16 + 5
        mov (%rsp), %r10                /* the faulting RIP: cli */
        iretq
bp_handler:
        mov (%rsp), %r8                 /* int3 is a trap: the return RIP is past it */
        iretq
ud_handler:
        addq $2, (%rsp)
        iretq

        .section .data
        .align 16
gdt:
        .quad 0, 0
        .quad 0x00af9b000000ffff        /* 0x10 kernel code */
        .quad 0x00cf93000000ffff        /* 0x18 kernel data */
        .quad 0x00cffb000000ffff        /* 0x20 user code 32 */
        .quad 0x00cff3000000ffff        /* 0x28 user data */
        .quad 0x00affb000000ffff        /* 0x30 user code 64 */
        .quad 0x12cff3345678ffff        /* 0x38 data, DPL 3, base 0x12345678 */
tss_desc:                               /* 0x40: 64-bit TSS, base filled in at start */
        .word 0x67, 0
        .byte 0, 0x89, 0, 0
        .long 0, 0
gdt_end:
gdt_ptr:
        .word gdt_end - gdt - 1
        .quad gdt
        .align 16
idt:
        .fill 512, 8, 0
idt_end:
idt_ptr:
        .word idt_end - idt - 1
        .quad idt
        .align 16
tss:
        .long 0
        .quad kstack_top                /* RSP0 */
        .quad 0, 0
        .quad 0
        .quad ist1_top                  /* IST1 */
        .quad ist2_top                  /* IST2 */
        .fill 5, 8, 0
        .fill 3, 4, 0
percpu:
        .quad 0, 0x5150, 0, 0
        .align 4096
pml5:
        .quad pml4 + 0x7
        .fill 511, 8, 0
pml4:
        .quad pdpt + 0x7
        .fill 511, 8, 0
pdpt:
        .quad pd + 0x7
        .quad 0x83                      /* 1-2 GiB: a 1 GiB page at physical 0 (needs pdpe1gb) */
        .fill 510, 8, 0
pd:
        .quad 0x000083                  /* 0-2M: the stub's kernel code and data, supervisor */
        .quad 0x200083                  /* 2-4M supervisor */
        .quad 0x400087                  /* 4-6M user */
        .quad 0                         /* 6-8M not present */
        .quad pt + 0x3                  /* 8-10M: 4 KiB pages */
        .fill 507, 8, 0
pt:
        .quad 0x800003                  /* read-write */
        .quad 0x8000000000801001        /* read-only, no-execute */
        .fill 510, 8, 0
        .section .bss
        .align 4096
        .fill 0x2000, 1, 0
kstack_top:
        .fill 0x2000, 1, 0
ist1_top:
        .fill 0x2000, 1, 0
ist2_top:
_end_bss:
