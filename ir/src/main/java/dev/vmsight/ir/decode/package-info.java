/**
 * x86-64 decoder: {@link dev.vmsight.ir.decode.Decoder#decode(byte[], int, long)} turns bytes
 * into an {@link dev.vmsight.ir.decode.Instruction}, or throws a
 * {@link dev.vmsight.ir.decode.DecodeException} carrying the address and bytes.
 *
 * <h2>Conventions the lifter relies on</h2>
 * <ul>
 * <li><b>Operands</b> are exactly the ones objdump prints in Intel syntax, in its order
 *     (destination first). Implicit operands objdump does not print are NOT listed and the
 *     lifter adds them itself: rax/rdx of mul/div/one-operand imul/cwd/cdq/cqo/cbw/cwde/cdqe,
 *     eax/ebx/ecx/edx of cpuid, edx:eax(+ecx) of rdtsc/rdtscp/rdmsr/wrmsr/xgetbv/xsetbv/rdpkru,
 *     rsp of push/pop/call/ret/leave/enter/pushf/popf, rflags everywhere, rcx/r11 of
 *     syscall/sysret, rcx of loop/jrcxz and of rep prefixes, al/rbx of xlat, the memory image of
 *     fxsave/xsave*.</li>
 * <li><b>String instructions</b> (movs, cmps, stos, lods, scas, ins, outs) list their memory
 *     operands as objdump does: es:[rdi] is a {@code Mem} with base rdi, ds:[rsi] one with base
 *     rsi (edi/esi with a 67 prefix), plus al/ax/eax/rax or dx where objdump prints them.
 *     {@code operandSize} is the element size; rep/repne are in {@code prefixes()}.</li>
 * <li><b>Immediates</b> ({@code Operand.Imm}): {@code value} is the encoded immediate sign-extended
 *     to 64 bits, {@code size} the operand size it is used at (so truncating value to size gives
 *     what the CPU computes with, e.g. {@code 83 /0 ib} has size 4 or 8). Unsigned immediates are
 *     zero-extended and keep their encoded width as size: shift/rotate/bt/shld/shrd counts, port
 *     numbers of in/out, the vector of int, ret/enter sizes (Iw), pshufd/psrld selectors,
 *     xabort. The implicit count 1 of shifts D0-D3 is {@code Imm(1, 1)}; mov r64, imm64 is
 *     {@link dev.vmsight.ir.decode.Mnemonic#MOVABS} with an 8-byte immediate.</li>
 * <li><b>Branches</b>: relative targets are resolved to absolute addresses
 *     ({@code Operand.Rel}); RIP-relative memory is {@code Mem(base = RIP, disp)} and the
 *     effective address is {@code nextAddress() + disp}.</li>
 * <li><b>Segments</b>: {@code Mem.segment} is FS or GS when such an override changes the address,
 *     else null (ES/CS/SS/DS have base 0 in 64-bit mode). The raw last segment prefix, even an
 *     ignored one (e.g. the cs of {@code cs nop}, the ds of {@code notrack jmp}), is in
 *     {@code Prefixes.segment}.</li>
 * <li><b>Condition</b> is set for {@code JCC}, {@code SETCC} and {@code CMOVCC} only.</li>
 * <li><b>operandSize</b> is the effective operand size (1, 2, 4, 8): 66 gives 2, REX.W gives 8
 *     and wins over 66. push/pop/call/jmp/ret/leave/enter/pushf/popf default to 8. For
 *     instructions without operands it is still the effective size, which tells
 *     iret/iretq, sysret/sysretq, cwde/cdqe apart. xmm forms (movdqu, pxor...) have 16; movd/movq
 *     between xmm and a GPR have the GPR size. For the state instructions fxsave/fxrstor and the
 *     xsave family it is 8 for the REX.W forms (fxsave64, xsave64...) and 4 otherwise; their
 *     memory operand has size 0 (an opaque area). mov to/from CR/DR has 8.</li>
 * <li><b>Memory operand size</b> 0 means "address only": lea, prefetch*, invlpg, clflush*,
 *     sgdt/lgdt/sidt/lidt, far call/jmp pointers and the state areas above.</li>
 * <li><b>Prefix handling</b> is the CPU's: the last of F2/F3 wins, the last segment prefix wins, a
 *     REX not immediately before the opcode is ignored, mandatory prefixes (66/F2/F3 selecting an
 *     SSE or system instruction) do not change the operand size; a 66/F2/F3 with no row of its
 *     own in an SSE row's slot is an invalid encoding, not the prefix-less instruction.
 *     {@code 90} is {@link dev.vmsight.ir.decode.Mnemonic#NOP}; with F3 it is PAUSE, with REX.B
 *     {@code xchg r8,rax}, and with 66 {@code xchg ax,ax} (objdump's reading; it changes nothing).
 *     66 (without REX.W) on a near jmp/call/jcc/loop/jrcxz is refused: Intel CPUs ignore it, AMD
 *     ones (this lab's host) truncate the target to 16 bits. push/pop/ret/enter/leave honour 66
 *     (16-bit) unless REX.W is also present. LOCK is accepted only on the lockable instructions
 *     with a memory destination; anything else is #UD and refused.</li>
 * <li><b>Sizes of particular forms</b>: in/out/ins/outs are 1, 2 (66) or 4 bytes (REX.W ignored);
 *     {@code MOVD} with operandSize 8 is the REX.W form objdump calls movq (xmm from/to a 64-bit
 *     GPR), while {@code MOVQ} is the xmm/m64 form; mov to/from a segment register, lar and lsl
 *     name a register at the operand size but read/write a word in memory; {@code XLAT} lists
 *     its memory operand {@code BYTE PTR [rbx]} (al is implicit); bswap with 66 names the 16-bit
 *     register (undefined result on the CPU).</li>
 * <li><b>Hint space</b>: 0F 18 /4-7, 0F 19-1F and F3 0F 1E (except endbr64) are NOP (with their
 *     ModRM operand); 0F 1A/1B (MPX on old CPUs) are NOP too; 0F 1C /0 is CLDEMOTE.</li>
 * <li><b>Not decoded</b> (DecodeException, "unsupported"): VEX/EVEX vector instructions (AVX,
 *     AVX-512, AMX) other than the BMI1/BMI2 general-purpose ones, most SSE/MMX/3DNow arithmetic,
 *     x87 arithmetic, VMX/SVM host instructions. See ir/DECODER.md.</li>
 * </ul>
 */
package dev.vmsight.ir.decode;
