package dev.vmsight.cli;

import picocli.CommandLine.Command;

/** Placeholder wired into the command tree; replaced by its owner's implementation. */
@Command(name = "decoder", description = "(not built yet)")
final class VerifyDecoderCommand implements java.util.concurrent.Callable<Integer> {
    @Override
    public Integer call() {
        throw new UnsupportedOperationException("decoder is not built yet");
    }
}
