package dev.vmsight.benchmarks;

/**
 * A rough interpreter rate without JMH: {@code java -cp benchmarks/target/benchmarks.jar
 * dev.vmsight.benchmarks.InterpreterRate [seconds]} prints guest instructions per second for
 * each program after a warm-up.
 */
public final class InterpreterRate {
    private InterpreterRate() { }

    public static void main(String[] args) {
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 3;
        for (String name : new String[]{"straight", "loops"}) {
            GuestPrograms.Setup s = GuestPrograms.load(GuestPrograms.program(name));
            s.interpreter().run(s.state(), -1, 20_000_000);   // warm-up
            long t0 = System.nanoTime();
            long n = 0;
            while (System.nanoTime() - t0 < seconds * 1e9) {
                n += s.interpreter().run(s.state(), -1, 1_000_000);
            }
            double rate = n / ((System.nanoTime() - t0) / 1e9);
            System.out.printf("interpreter %-8s %,.0f guest instructions/s%n", name, rate);
        }
    }
}
