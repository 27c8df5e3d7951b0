# Decoder corpus: assembled with `as --64`, disassembled with objdump, compared by AssembledCorpusTest.
# Every line here must decode with objdump's length and mnemonic.
        .intel_syntax noprefix
        .text
        # ALU, all forms and sizes
        add al, 1
        add eax, 0x12345678
        add rax, -1
        add ax, 0x1234
        add byte ptr [rax], 1
        add dword ptr [rax+rbx*4+0x10], 0x1000
        add qword ptr [rip+0x100], -8
        or ecx, edx
        adc r8, r9
        sbb r10d, dword ptr [r11]
        and spl, dil
        and ah, bh
        sub r15w, 7
        xor r12b, byte ptr [r13]
        cmp qword ptr [rsp+8], rax
        cmp byte ptr [rbp-1], 0x7f
        test eax, eax
        test al, 0x80
        test rcx, 0x100
        test byte ptr [rdi+0x10], 4
        test qword ptr [rsi], 0x7fffffff
        # mov and friends
        mov rbp, rsp
        mov eax, 0xffffffff
        movabs rax, 0x1122334455667788
        mov rax, -1
        mov byte ptr [rax], 0x12
        mov word ptr [rax], 0x1234
        mov qword ptr [rax+r12*8-0x80], 0x10
        mov r8b, 5
        mov ah, 1
        movabs al, byte ptr ds:0x1122334455667788
        movabs qword ptr ds:0x1122334455667788, rax
        mov eax, dword ptr fs:0x28
        mov rax, qword ptr gs:[0x10]
        mov rax, qword ptr [r13]
        mov rax, qword ptr [r12]
        mov rax, qword ptr [rbp]
        mov rax, qword ptr [0x12345678]
        mov eax, dword ptr [eax]
        mov ds, ax
        mov ax, ds
        movzx eax, byte ptr [rdi]
        movzx ecx, word ptr [rsi]
        movzx r8, dil
        movsx rax, cl
        movsx eax, word ptr [rbx]
        movsxd rax, dword ptr [rdi]
        movsxd rcx, edx
        lea rax, [rip+0x1000]
        lea rsp, [rsp+8]
        lea r8d, [rax+rax*2]
        xchg rax, rcx
        xchg r8, rax
        xchg dword ptr [rdi], esi
        xchg ax, ax
        bswap eax
        bswap r9
        cbw
        cwde
        cdqe
        cwd
        cdq
        cqo
        movbe eax, dword ptr [rdi]
        movbe qword ptr [rsi], rax
        movnti dword ptr [rdi], eax
        movnti qword ptr [rdi], rax
        xlatb
        # push / pop
        push rax
        push r15
        push ax
        push 0x12345678
        push -1
        push qword ptr [rip+0x10]
        pop rbx
        pop r12
        pop qword ptr [rax]
        push fs
        pop gs
        pushfq
        popfq
        enter 0x10, 0
        leave
        # mul / div / unary
        mul rcx
        imul rdx
        imul eax, ecx
        imul eax, ecx, 10
        imul rax, qword ptr [rdi], 0x1000
        div byte ptr [rdi]
        idiv r8
        neg rax
        not byte ptr [rax]
        inc eax
        dec qword ptr [rdi]
        inc r9b
        # shifts and bits
        shl eax, 1
        shl eax, 5
        shr rax, cl
        sar byte ptr [rdi], 1
        rol ecx, 3
        ror r8w, cl
        rcl eax, 1
        rcr rdx, 7
        shld eax, ecx, 4
        shrd rax, rdx, cl
        bt eax, 3
        bts qword ptr [rdi], rax
        btr ecx, edx
        btc rax, 63
        bsf eax, ecx
        bsr rax, rdx
        tzcnt eax, ecx
        lzcnt rax, rdx
        popcnt rcx, qword ptr [rdi]
        andn rax, rbx, rcx
        blsr eax, ecx
        blsi rax, qword ptr [rdi]
        blsmsk ecx, edx
        bzhi rax, rbx, rcx
        bextr eax, ecx, edx
        pdep rax, rbx, rcx
        pext eax, ecx, edx
        mulx rax, rbx, rcx
        shlx rax, rbx, rcx
        shrx eax, dword ptr [rdi], edx
        sarx rax, rbx, rcx
        rorx rax, rbx, 13
        adcx rax, rbx
        adox eax, ecx
        crc32 eax, byte ptr [rdi]
        crc32 rax, qword ptr [rdi]
        # conditionals and control flow
1:      jo 1b
        jne 1b
        jb 2f
        jg 2f
        je 3f
        jl 3f
2:      sete al
        setne byte ptr [rdi]
        seta r8b
        cmovae rax, rcx
        cmovle eax, dword ptr [rdi]
        cmovs r9w, r10w
        call 3f
        call rax
        call qword ptr [rip+0x10]
        call fword ptr [rax]
        jmp rax
        jmp qword ptr [rax*8+0x1000]
        jmp fword ptr [rdi]
        loop 3f
        loope 3f
        loopne 3f
        jrcxz 3f
        jecxz 3f
3:      jmp 3b
        ret
        ret 8
        .byte 0xcb
        retfq
        notrack jmp rax
        bnd jmp rax
        .byte 0x2e, 0xe8, 0, 0, 0, 0
        int3
        int 0x80
        int1
        ud2
        ud1 eax, dword ptr [rax]
        ud0 eax, dword ptr [rax]
        # flags
        clc
        stc
        cmc
        cld
        std
        lahf
        sahf
        # strings
        rep movsb
        rep movsq
        movsd
        movsw
        rep stosb
        rep stosq
        lodsb
        lodsq
        repe cmpsb
        repne scasb
        scasd
        rep insb
        outsd
        .byte 0x67, 0xa4
        # atomics
        lock add dword ptr [rdi], 1
        lock xadd qword ptr [rdi], rax
        lock cmpxchg qword ptr [rdi], rcx
        lock cmpxchg8b qword ptr [rdi]
        lock cmpxchg16b xmmword ptr [rdi]
        lock bts qword ptr [rdi], rax
        lock inc dword ptr [rdi]
        lock or byte ptr [rdi], 1
        xadd al, bl
        cmpxchg byte ptr [rdi], cl
        # hints, nops, fences
        nop
        nop dword ptr [rax]
        nop word ptr [rax+rax*1+0x0]
        .byte 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0
        .byte 0x66, 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0
        pause
        lfence
        mfence
        sfence
        prefetcht0 byte ptr [rdi]
        prefetcht1 byte ptr [rdi]
        prefetcht2 byte ptr [rdi]
        prefetchnta byte ptr [rdi]
        prefetchw byte ptr [rdi]
        prefetch byte ptr [rdi]
        endbr64
        clflush byte ptr [rdi]
        clflushopt byte ptr [rdi]
        clwb byte ptr [rdi]
        # system
        cli
        sti
        hlt
        swapgs
        syscall
        sysretq
        .byte 0x0f, 0x07
        iretq
        .byte 0xcf
        cpuid
        rdtsc
        rdtscp
        rdmsr
        wrmsr
        rdpmc
        in al, dx
        in eax, 0x60
        out dx, al
        out 0x80, eax
        invlpg byte ptr [rdi]
        invpcid rax, xmmword ptr [rdi]
        clac
        stac
        lgdt [rdi]
        lidt [rdi]
        sgdt [rdi]
        sidt [rdi]
        lldt ax
        ltr word ptr [rdi]
        str eax
        sldt word ptr [rdi]
        verw word ptr [rdi]
        verr ax
        lar eax, cx
        lsl eax, word ptr [rdi]
        smsw eax
        lmsw ax
        mov cr3, rax
        mov rax, cr4
        mov cr8, rcx
        mov rax, cr0
        mov dr7, rax
        mov rax, dr6
        wbinvd
        invd
        clts
        xgetbv
        xsetbv
        rdrand eax
        rdrand rax
        rdseed rcx
        rdpid rax
        rdfsbase rax
        rdgsbase eax
        wrfsbase rdi
        wrgsbase rsi
        monitor
        mwait
        rdpkru
        wrpkru
        serialize
        encls
        vmcall
        vmmcall
        stgi
        clgi
        sysenter
        .byte 0x48, 0x0f, 0x35
        rsm
        xend
        xtest
        # SSE / x87 state
        fxsave [rdi]
        fxsave64 [rdi]
        fxrstor [rdi]
        fxrstor64 [rdi]
        xsave [rdi]
        xsave64 [rdi]
        xsaveopt64 [rdi]
        xsavec [rdi]
        xsaves64 [rdi]
        xrstor64 [rdi]
        xrstors64 [rdi]
        ldmxcsr dword ptr [rsp+4]
        stmxcsr dword ptr [rsp]
        fninit
        fnclex
        fnstsw ax
        fnstsw word ptr [rdi]
        fnstcw word ptr [rdi]
        fldcw word ptr [rdi]
        fnsave [rdi]
        frstor [rdi]
        fwait
        finit
        fild dword ptr [rdi]
        fild qword ptr [rdi]
        emms
        movdqu xmm0, xmmword ptr [rdi]
        movdqu xmmword ptr [rdi], xmm15
        movdqa xmm1, xmm2
        movaps xmm3, xmmword ptr [rip+0x10]
        movups xmmword ptr [rsi], xmm4
        movd xmm0, eax
        movd ecx, xmm1
        movq xmm0, rax
        movq rax, xmm8
        movq xmm1, xmm2
        movq qword ptr [rdi], xmm3
        pxor xmm0, xmm0
        xorps xmm1, xmm1
        paddd xmm0, xmm1
        paddq xmm2, xmm3
        pand xmm4, xmm5
        por xmm1, xmm8
        punpckldq xmm4, xmm5
        punpcklqdq xmm6, xmm7
        pshufd xmm0, xmm0, 0x93
        pshufb xmm3, xmm12
        psrld xmm1, 12
        pslld xmm2, 20
        movntdq xmmword ptr [rdi], xmm0
