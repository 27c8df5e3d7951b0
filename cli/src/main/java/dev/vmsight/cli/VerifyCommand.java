package dev.vmsight.cli;

import picocli.CommandLine.Command;

/** {@code vmsight verify ...}: the correctness oracles (objdump, host CPU, QEMU). */
@Command(name = "verify", description = "Run a correctness oracle and print a one-line summary.",
        mixinStandardHelpOptions = true, subcommands = {VerifyDecoderCommand.class, VerifyCpuCommand.class, VerifyLockstepCommand.class})
final class VerifyCommand implements Runnable {
    @Override
    public void run() {
        new picocli.CommandLine(this).usage(System.out);
    }
}
