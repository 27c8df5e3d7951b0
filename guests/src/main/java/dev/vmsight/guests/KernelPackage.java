package dev.vmsight.guests;

import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Debian 6.1 kernel package, {@code linux-image-6.1.0-<abi>-<flavor>}, as scripts/fetch-kernel.sh
 * fetches it.
 *
 * @param abi    Debian's ABI number (56 is pinned in scripts/lab.env)
 * @param flavor amd64, cloud-amd64 or rt-amd64
 */
public record KernelPackage(int abi, String flavor) {

    public static final Set<String> FLAVORS = Set.of("amd64", "cloud-amd64", "rt-amd64");
    private static final Pattern NAME = Pattern.compile("linux-image-6\\.1\\.0-([0-9]+)-(.+)");

    public KernelPackage {
        if (abi <= 0) throw new GuestException("kernel ABI must be a positive number like 56, not " + abi);
        if (!FLAVORS.contains(flavor)) {
            throw new GuestException("unknown kernel flavor '" + flavor + "' (expected amd64, cloud-amd64 or rt-amd64)");
        }
    }

    /** From the strings a user typed (an ABI like "56" and a flavor); wrong ones get a clear error. */
    public static KernelPackage of(String abi, String flavor) {
        if (abi == null || !abi.matches("[0-9]{1,4}")) {
            throw new GuestException("wrong kernel ABI '" + abi + "': expected a number like 56 (as in linux-image-6.1.0-56-amd64)");
        }
        return new KernelPackage(Integer.parseInt(abi), flavor);
    }

    /** From a package name such as {@code linux-image-6.1.0-56-amd64}. */
    public static KernelPackage parse(String packageName) {
        Matcher m = NAME.matcher(packageName);
        if (!m.matches()) {
            throw new GuestException("wrong kernel package name '" + packageName
                    + "': expected linux-image-6.1.0-<ABI>-<flavor>, e.g. linux-image-6.1.0-56-amd64");
        }
        return of(m.group(1), m.group(2));
    }

    /** The Debian package name. */
    public String packageName() {
        return "linux-image-6.1.0-" + abi + "-" + flavor;
    }

    @Override
    public String toString() {
        return packageName();
    }
}
