package dev.vmsight.slicer;

/** The slicer cannot work on its input (traces of different programs, a trace without END...). */
public final class SliceException extends RuntimeException {
    public SliceException(String message) { super(message); }

    public SliceException(String message, Throwable cause) { super(message, cause); }
}
