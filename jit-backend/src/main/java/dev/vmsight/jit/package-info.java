/**
 * Merged slices compiled to JVM bytecode. A {@link dev.vmsight.jit.JitProgram} (instructions,
 * kept µops, control per instruction) becomes a hidden class through
 * {@link dev.vmsight.jit.MonitorCompiler}; a {@link dev.vmsight.jit.CompiledMonitor} runs it
 * against a {@link dev.vmsight.jit.PageSource} (for guests: {@link dev.vmsight.jit.GuestPages}
 * over vmi-runtime's AddressSpace) under a vmi-runtime Budget, and every ending — completed,
 * unseen path, budget, fault — is a {@link dev.vmsight.jit.MonitorResult}. Semantics are ir's
 * Interpreter's: the same UopSemantics helpers, and the interpreter itself for environment and
 * system µops. Only this module imports ASM.
 */
package dev.vmsight.jit;
