package dev.vmsight.merger;

/** Traces that cannot be merged (other program, kernel build or CPU features; no instructions; unknown output). */
public final class MergeException extends RuntimeException {
    public MergeException(String message) { super(message); }
}
