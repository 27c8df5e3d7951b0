package dev.vmsight.jit;

import org.junit.jupiter.api.Test;
import org.objectweb.asm.ClassReader;
import org.objectweb.asm.util.CheckClassAdapter;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.*;

/** Every generated class (with frames, returns, call summaries) passes ASM's CheckClassAdapter (structure, then data flow with types). */
class GeneratedClassCheckTest {
    @Test
    void generatedClassesVerify() {
        RandomPrograms gen = new RandomPrograms(314);
        for (int n = 0; n < 60; n++) {
            RandomPrograms.Case c = n % 20 == 0 ? gen.next(600) : gen.next(4 + gen.rnd.nextInt(20));
            c = n % 2 == 1 ? gen.withFrames(c) : c;                            // every other one with frames and returns
            JitProgram p = (n % 3 == 1 ? gen.withSummaries(c) : c).program();   // every third with call summaries
            byte[] bytes = MonitorCompiler.emit(p);
            StringWriter out = new StringWriter();
            CheckClassAdapter.verify(new ClassReader(bytes), getClass().getClassLoader(), false, new PrintWriter(out));
            assertEquals("", out.toString(), "program " + n + " does not verify");
        }
        byte[] walk = MonitorCompiler.emit(TaskListGuest.program(JitProgram.OnUnseen.REPORT_AND_FOLLOW));
        StringWriter out = new StringWriter();
        CheckClassAdapter.verify(new ClassReader(walk), getClass().getClassLoader(), false, new PrintWriter(out));
        assertEquals("", out.toString());
    }
}
