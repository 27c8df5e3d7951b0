package dev.vmsight.cli;

import picocli.CommandLine.Command;

/** Placeholder wired into the command tree; replaced by its owner's implementation. */
@Command(name = "demo", description = "(not built yet)")
final class DemoCommand implements java.util.concurrent.Callable<Integer> {
    @Override
    public Integer call() {
        throw new UnsupportedOperationException("demo is not built yet");
    }
}
