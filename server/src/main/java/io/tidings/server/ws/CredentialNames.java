package io.tidings.server.ws;

import java.util.List;
import java.util.Locale;

/**
 * Which cookies and headers of an upgrade request are credentials for the authorization webhook
 * (settings {@code authWebhookCookies}, {@code authWebhookHeaders}); the {@code Authorization}
 * header and cookie and the {@code token} query parameter always are. Immutable.
 */
public record CredentialNames(List<String> cookies, List<String> headers) {
    public static final CredentialNames NONE = new CredentialNames(List.of(), List.of());

    public CredentialNames {
        cookies = List.copyOf(cookies);
        headers = headers.stream().map(h -> h.toLowerCase(Locale.ROOT)).toList();
    }
}
