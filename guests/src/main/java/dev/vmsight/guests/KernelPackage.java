package dev.vmsight.guests;

import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Debian kernel image package, by the name Debian serves it under: the 6.1 series' {@code
 * linux-image-6.1.0-<abi>-<flavor>} (the lab's pinned kernel is one), and any other versioned
 * image, e.g. the 6.12 series' {@code linux-image-6.12.118+deb12-amd64-unsigned}. What is inside
 * (vmlinuz, its payload's compression, the modules and their compression) is read from the
 * package by scripts/fetch-kernel.sh and guests/build-image.sh, not guessed from the name.
 *
 * @param packageName the Debian package name
 */
public record KernelPackage(String packageName) {

    public static final Set<String> FLAVORS = Set.of("amd64", "cloud-amd64", "rt-amd64");
    private static final Pattern NAME = Pattern.compile("linux-image-([0-9][a-z0-9.+~-]*)");
    private static final Pattern SERIES_61 = Pattern.compile("linux-image-6\\.1\\.0-([0-9]+)-(.+)");

    public KernelPackage {
        Matcher m = NAME.matcher(packageName == null ? "" : packageName);
        if (!m.matches() || packageName.endsWith("-dbg") || packageName.endsWith("-template")) {
            throw new GuestException("wrong kernel package name '" + packageName + "': expected a versioned Debian image package,"
                    + " e.g. linux-image-6.1.0-56-amd64 or linux-image-6.12.118+deb12-amd64-unsigned (apt-cache search linux-image-6.)");
        }
        Matcher s = SERIES_61.matcher(packageName);
        if (s.matches() && !FLAVORS.contains(s.group(2))) {
            throw new GuestException("unknown kernel flavor '" + s.group(2) + "' (expected amd64, cloud-amd64 or rt-amd64)");
        }
    }

    /** From the strings a user typed (an ABI like "56" and a flavor) for the 6.1 series; wrong ones get a clear error. */
    public static KernelPackage of(String abi, String flavor) {
        if (abi == null || !abi.matches("[0-9]{1,4}")) {
            throw new GuestException("wrong kernel ABI '" + abi + "': expected a number like 56 (as in linux-image-6.1.0-56-amd64)");
        }
        if (!FLAVORS.contains(flavor)) {
            throw new GuestException("unknown kernel flavor '" + flavor + "' (expected amd64, cloud-amd64 or rt-amd64)");
        }
        return new KernelPackage("linux-image-6.1.0-" + Integer.parseInt(abi) + "-" + flavor);
    }

    /** From a package name such as {@code linux-image-6.1.0-56-amd64}. */
    public static KernelPackage parse(String packageName) {
        return new KernelPackage(packageName);
    }

    /** The kernel release it installs ({@code uname -r}): the name without {@code linux-image-} and a {@code -unsigned} suffix. */
    public String release() {
        String r = packageName.substring("linux-image-".length());
        return r.endsWith("-unsigned") ? r.substring(0, r.length() - "-unsigned".length()) : r;
    }

    /** The headers package for building modules against it. */
    public String headersPackage() {
        return "linux-headers-" + release();
    }

    /** This 6.1 kernel in another flavour ({@code amd64}, {@code cloud-amd64}, {@code rt-amd64}). */
    public KernelPackage withFlavor(String flavor) {
        Matcher s = SERIES_61.matcher(packageName);
        if (!s.matches()) throw new GuestException(packageName + " is not a linux-image-6.1.0-ABI-FLAVOR package");
        return of(s.group(1), flavor);
    }

    @Override
    public String toString() {
        return packageName;
    }
}
