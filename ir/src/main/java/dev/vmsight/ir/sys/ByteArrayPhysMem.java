package dev.vmsight.ir.sys;

/** Physical memory in a byte array (tests, small synthetic guests). */
final class ByteArrayPhysMem implements PhysMem {
    private final byte[] bytes;

    ByteArrayPhysMem(byte[] bytes) { this.bytes = bytes; }

    @Override
    public long read(long pa, int size) {
        check(pa, size);
        long v = 0;
        for (int i = size - 1; i >= 0; i--) {
            v = v << 8 | (bytes[(int) pa + i] & 0xFF);
        }
        return v;
    }

    @Override
    public void write(long pa, int size, long value) {
        check(pa, size);
        for (int i = 0; i < size; i++) {
            bytes[(int) pa + i] = (byte) (value >>> (8 * i));
        }
    }

    @Override
    public long size() { return bytes.length; }

    private void check(long pa, int size) {
        if (pa < 0 || pa + size > bytes.length) {
            throw new IllegalArgumentException("physical address 0x" + Long.toHexString(pa) + " (+" + size
                    + ") is outside guest RAM of 0x" + Long.toHexString(bytes.length) + " bytes");
        }
    }
}
