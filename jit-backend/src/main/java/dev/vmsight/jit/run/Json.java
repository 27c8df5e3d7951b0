package dev.vmsight.jit.run;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Map;
import java.util.StringJoiner;

/** The little JSON {@code run} prints: flat objects of pre-rendered values; strings escaped by Jackson. */
final class Json {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private Json() {}

    static String string(String s) {
        try {
            return MAPPER.writeValueAsString(s);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot render a JSON string: " + e.getMessage(), e);
        }
    }

    /** An object from keys to already rendered JSON values, in the map's order. */
    static String object(Map<String, String> fields) {
        StringJoiner j = new StringJoiner(",", "{", "}");
        fields.forEach((k, v) -> j.add(string(k) + ":" + v));
        return j.toString();
    }
}
