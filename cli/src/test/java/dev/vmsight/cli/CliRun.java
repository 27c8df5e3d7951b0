package dev.vmsight.cli;

import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;

/** Runs the vmsight command line in-process and captures what it printed: what command tests look at. */
public final class CliRun {
    private CliRun() { }

    /** A finished command: exit code, standard output, standard error. */
    public record Run(int exit, String out, String err) { }

    public static Run vmsight(String... args) {
        CommandLine cl = Vmsight.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        PrintWriter o = new PrintWriter(out, true);
        PrintWriter e = new PrintWriter(err, true);
        cl.setOut(o);
        cl.setErr(e);
        int exit = cl.execute(args);
        o.flush();
        e.flush();
        return new Run(exit, out.toString(), err.toString());
    }
}
