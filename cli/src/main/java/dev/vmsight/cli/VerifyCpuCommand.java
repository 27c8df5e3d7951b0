package dev.vmsight.cli;

import picocli.CommandLine.Command;

/** Placeholder wired into the command tree; replaced by its owner's implementation. */
@Command(name = "cpu", description = "(not built yet)")
final class VerifyCpuCommand implements java.util.concurrent.Callable<Integer> {
    @Override
    public Integer call() {
        throw new UnsupportedOperationException("cpu is not built yet");
    }
}
