package dev.vmsight.agent;

import java.time.Instant;

/** What a guest's last cycle found, or why it could not look ({@code state} "watching" when all is well). */
public record GuestStatus(String state, String detail, Instant lastCycle, long cycles, int hiddenProcesses, int hooks) { }
