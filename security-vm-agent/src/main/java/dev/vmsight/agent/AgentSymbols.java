package dev.vmsight.agent;

import dev.vmsight.merger.Symbols;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Kernel function names for alerts: the guest's kallsyms saved beside the training corpus
 * ({@code SYMBOLS/<first 12 hex of the kernel text SHA-256>/kallsyms}, the layout of .lab/corpus),
 * or a single kallsyms/System.map file. Without them, addresses stay hexadecimal.
 */
final class AgentSymbols {
    private static final Map<Path, Symbols> CACHE = new ConcurrentHashMap<>();

    private AgentSymbols() { }

    static Symbols forKernel(Path symbols, String kernelTextSha256) {
        if (symbols == null) return Symbols.none();
        Path file = Files.isDirectory(symbols)
                ? symbols.resolve(kernelTextSha256.substring(0, Math.min(12, kernelTextSha256.length()))).resolve("kallsyms")
                : symbols;
        if (!Files.isRegularFile(file)) return Symbols.none();
        return CACHE.computeIfAbsent(file, Symbols::readSystemMap);
    }
}
