package dev.vmsight.tracer.trace;

/**
 * One event of a whole-system trace, in execution order. {@code step} numbers instructions from 1
 * (the first instruction after START); a delivery carries the step of the instruction that raised
 * it (0 for none). A translation event precedes the first access that uses it.
 */
public sealed interface TraceEvent permits InstructionEvent, DeliveryEvent, TranslationEvent, EnvInputEvent {
    long step();
}
