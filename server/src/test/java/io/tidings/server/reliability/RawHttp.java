package io.tidings.server.reliability;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * One HTTP/1.1 exchange on a bare socket, for requests the JDK client refuses to send (bytes that
 * are not allowed in headers, wrong Content-Length, broken chunking, bad request lines). The request
 * should say {@code Connection: close}; the response is read to the end of the connection.
 */
final class RawHttp {
    /** {@code status} -1: the server closed without answering. */
    record Response(int status, String head, String body) {}

    private RawHttp() {}

    /**
     * Sends {@code request} as it is; with {@code endInput} the socket's output is shut down after it
     * (the server sees the end of the request body, e.g. one shorter than its Content-Length).
     * Fails if the server neither answers nor closes within {@code millis}.
     */
    static Response exchange(int port, byte[] request, boolean endInput, int millis) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(millis);
            try {
                s.getOutputStream().write(request);
                s.getOutputStream().flush();
                if (endInput) s.shutdownOutput();
            } catch (IOException e) {
                // the server may answer and close before reading everything we send
            }
            byte[] all = readAll(s.getInputStream());
            String text = new String(all, StandardCharsets.ISO_8859_1);
            int end = text.indexOf("\r\n\r\n");
            if (!text.startsWith("HTTP/1.1 ") || end < 0) return new Response(-1, text, "");
            int status = Integer.parseInt(text.substring(9, 12));
            return new Response(status, text.substring(0, end), new String(all, end + 4, all.length - end - 4, StandardCharsets.UTF_8));
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the server neither answered nor closed within " + millis + " ms");
        } catch (IOException e) {
            return new Response(-1, "reset: " + e.getMessage(), "");
        }
    }

    private static byte[] readAll(InputStream in) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[8192];
        try {
            for (int n = in.read(buf); n >= 0; n = in.read(buf)) out.write(buf, 0, n);
        } catch (SocketTimeoutException e) {
            if (out.size() == 0) throw e;
            // answered but kept the connection open: what was read is the answer
        } catch (IOException e) {
            if (out.size() == 0) throw e; // reset after the answer: keep the answer
        }
        return out.toByteArray();
    }
}
