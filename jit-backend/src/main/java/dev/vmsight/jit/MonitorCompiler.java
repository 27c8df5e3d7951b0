package dev.vmsight.jit;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Compiles a {@link JitProgram} to a {@link CompiledMonitor}: ASM emits the class
 * ({@link CodeGenerator}), whose methods are checked against HotSpot's HugeMethodLimit (the
 * budget is halved until every method is below it), and the class is defined as a hidden class
 * in this package (the JVM verifies it on definition).
 */
public final class MonitorCompiler {
    /** HotSpot does not JIT-compile methods with more bytecode than this (-XX:HugeMethodLimit). */
    public static final int HUGE_METHOD_LIMIT = 8000;
    private static final int FIRST_BUDGET = 6000;
    private static final AtomicLong SERIAL = new AtomicLong();

    private MonitorCompiler() { }

    public static CompiledMonitor compile(JitProgram program) {
        return define(program, emit(program));
    }

    static byte[] emit(JitProgram program) {
        return emit(program, FIRST_BUDGET);
    }

    /** Emits the class bytes, every method under the limit. */
    static byte[] emit(JitProgram program, int firstBudget) {
        String name = "dev/vmsight/jit/Monitor$" + HexFormat.of().toHexDigits(SERIAL.incrementAndGet());
        for (int budget = firstBudget; budget >= 200; budget /= 2) {
            byte[] bytes = CodeGenerator.generate(program, name, budget).bytes();
            String big = largest(ClassFiles.codeLengths(bytes));
            if (big == null) {
                return bytes;
            }
        }
        throw new IllegalArgumentException("cannot split the program (entry 0x" + Long.toHexString(program.entry())
                + ") into methods below " + HUGE_METHOD_LIMIT + " bytes: a single instruction is too large");
    }

    private static String largest(Map<String, Integer> sizes) {
        return sizes.entrySet().stream().filter(e -> e.getValue() >= HUGE_METHOD_LIMIT).map(Map.Entry::getKey)
                .findFirst().orElse(null);
    }

    /** Defines {@code classBytes} (generated for {@code program}) as a hidden class. */
    static CompiledMonitor define(JitProgram program, byte[] classBytes) {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup().defineHiddenClass(classBytes, true);
            CompiledBody body = (CompiledBody) lookup.findConstructor(lookup.lookupClass(), MethodType.methodType(void.class))
                    .invoke();
            return new CompiledMonitor(body, ControlTable.of(program), classBytes);
        } catch (IllegalAccessException | NoSuchMethodException e) {
            throw new IllegalStateException("cannot define the generated monitor class: " + e.getMessage(), e);
        } catch (VerifyError | ClassFormatError e) {
            throw new IllegalStateException("the generated monitor class is invalid (a code generator bug): " + e, e);
        } catch (Throwable t) {
            throw new IllegalStateException("cannot instantiate the generated monitor class: " + t, t);
        }
    }
}
