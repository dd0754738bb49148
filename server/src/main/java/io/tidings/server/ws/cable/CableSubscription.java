package io.tidings.server.ws.cable;

/**
 * One ActionCable subscription as the adapter remembers it: the identifier (decoded, the key of the
 * hub subscription), the identifier exactly as the client wrote it (a JSON string literal, echoed in
 * every frame for it) and the room its channel streams.
 *
 * @param key            the identifier string, decoded
 * @param identifierJson the identifier's JSON string literal as received, quotes included
 * @param room           the room the channel maps to
 */
record CableSubscription(String key, String identifierJson, String room) {
}
