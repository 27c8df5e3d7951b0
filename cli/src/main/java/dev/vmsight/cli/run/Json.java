package dev.vmsight.cli.run;

import java.util.Map;
import java.util.StringJoiner;

/** The little JSON {@code run} prints: flat objects of pre-rendered values; strings escaped. */
final class Json {

    private Json() {}

    static String string(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        return b.append('"').toString();
    }

    /** An object from keys to already rendered JSON values, in the map's order. */
    static String object(Map<String, String> fields) {
        StringJoiner j = new StringJoiner(",", "{", "}");
        fields.forEach((k, v) -> j.add(string(k) + ":" + v));
        return j.toString();
    }
}
