package io.tidings.server.ws.cable;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import io.tidings.server.http.Json;

import java.io.IOException;

/**
 * A command from an ActionCable client:
 * {@code {"command":"subscribe","identifier":"{\"channel\":\"NotificationsChannel\"}"}} and its kin
 * ({@code unsubscribe}, {@code message} with {@code data}, and with the extended protocol
 * {@code history} and a {@code history} object that may also ride on {@code subscribe}, and
 * AnyCable 1.6's presence commands {@code join} (with {@code presence}), {@code leave}, {@code presence}).
 *
 * <p>The identifier is a JSON string whose content is itself JSON. It is kept twice: decoded (the
 * subscription's key) and as the exact characters of its string literal, so replies echo it byte
 * for byte instead of re-serialising it.
 *
 * @param command        the command name, or null if absent or not a string
 * @param identifier     the identifier, decoded; null if absent or not a string
 * @param identifierJson the identifier's string literal exactly as received (with its quotes), or null
 * @param history        the {@code history} object, or null
 * @param presence       the {@code presence} object of an AnyCable presence {@code join}, or null
 */
record CableCommand(String command, String identifier, String identifierJson, JsonNode history, JsonNode presence) {

    /** Parses one text frame; null if it is not a JSON object. */
    static CableCommand parse(String text) {
        try (JsonParser p = Json.MAPPER.createParser(text)) {
            if (p.nextToken() != JsonToken.START_OBJECT) return null;
            String command = null, identifier = null, identifierJson = null;
            JsonNode history = null, presence = null;
            for (JsonToken t = p.nextToken(); t == JsonToken.FIELD_NAME; t = p.nextToken()) {
                String field = p.currentName();
                JsonToken v = p.nextToken();
                switch (field) {
                    case "command" -> command = v == JsonToken.VALUE_STRING ? p.getText() : null;
                    case "identifier" -> {
                        if (v == JsonToken.VALUE_STRING) {
                            int start = (int) p.currentTokenLocation().getCharOffset();
                            identifier = p.getText();
                            int end = (int) p.currentLocation().getCharOffset();
                            identifierJson = text.substring(start, end);
                        } else {
                            identifier = identifierJson = null;
                            p.skipChildren();
                        }
                    }
                    case "history" -> history = v == JsonToken.START_OBJECT ? p.readValueAsTree() : skip(p);
                    case "presence" -> presence = v == JsonToken.START_OBJECT ? p.readValueAsTree() : skip(p);
                    default -> p.skipChildren();
                }
            }
            return new CableCommand(command, identifier, identifierJson, history, presence);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static JsonNode skip(JsonParser p) throws IOException {
        p.skipChildren();
        return null;
    }
}
