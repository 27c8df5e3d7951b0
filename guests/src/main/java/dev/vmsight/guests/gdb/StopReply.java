package dev.vmsight.guests.gdb;

/**
 * Why the guest stopped, from a {@code T}/{@code S} stop reply.
 *
 * @param signal the GDB signal number (5 = SIGTRAP for breakpoints and steps, 2 = SIGINT for an interrupt)
 * @param thread the stopped thread (QEMU numbers vCPUs from 1), or -1 when the reply did not say
 * @param raw    the packet as received
 */
public record StopReply(int signal, int thread, String raw) {

    public static final int SIGINT = 2;
    public static final int SIGTRAP = 5;

    static StopReply parse(String packet) {
        if (packet.length() < 3 || (packet.charAt(0) != 'T' && packet.charAt(0) != 'S')) {
            if (!packet.isEmpty() && (packet.charAt(0) == 'W' || packet.charAt(0) == 'X')) {
                throw new GdbException("the guest is gone (gdbstub sent '" + packet + "': QEMU ended)");
            }
            throw new GdbException("expected a stop reply from the gdbstub, got '" + RspChannel.abbreviate(packet) + "'");
        }
        int signal = Integer.parseInt(packet.substring(1, 3), 16);
        int thread = -1;
        for (String field : packet.substring(3).split(";")) {
            if (field.startsWith("thread:")) {
                String id = field.substring("thread:".length());
                // multiprocess form p<pid>.<tid>
                if (id.startsWith("p") && id.contains(".")) id = id.substring(id.indexOf('.') + 1);
                try {
                    thread = Integer.parseInt(id, 16);
                } catch (NumberFormatException ignored) {
                    // leave -1: not every stub numbers threads in hex
                }
            }
        }
        return new StopReply(signal, thread, packet);
    }
}
