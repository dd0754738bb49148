package io.tidings.server.reliability;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A WebSocket client on a bare socket, for tests that must send what a well-behaved client never
 * would: invalid UTF-8 in text frames, reserved opcodes and bits, unmasked or truncated frames,
 * oversized control frames. It writes frames exactly as told (RFC 6455 framing, masked unless asked
 * not to) and reads the server's frames one by one, answering pings.
 *
 * <p>Not thread-safe: one test thread.
 */
public final class RawWebSocket implements AutoCloseable {
    public static final int TEXT = 1, BINARY = 2, CLOSE = 8, PING = 9, PONG = 10;

    /** A frame from the server; {@code opcode} -1 means the connection ended without a close frame. */
    public record Frame(int opcode, byte[] payload) {
        public String text() {
            return new String(payload, StandardCharsets.UTF_8);
        }

        /** The close code of a close frame (1005 if it carried none). */
        public int closeCode() {
            return payload.length >= 2 ? ((payload[0] & 0xff) << 8) | (payload[1] & 0xff) : 1005;
        }

        public String closeReason() {
            return payload.length > 2 ? new String(payload, 2, payload.length - 2, StandardCharsets.UTF_8) : "";
        }

        public boolean isEnd() {
            return opcode == CLOSE || opcode == -1;
        }

        @Override
        public String toString() {
            return switch (opcode) {
                case -1 -> "<eof>";
                case CLOSE -> "close " + closeCode() + " " + closeReason();
                case TEXT -> "text " + text();
                default -> "opcode " + opcode + " (" + payload.length + " bytes)";
            };
        }
    }

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final int status;

    private RawWebSocket(Socket socket, int status) throws IOException {
        this.socket = socket;
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
        this.status = status;
    }

    /**
     * Opens a TCP connection and sends the upgrade request for {@code pathAndQuery}; {@link #status()}
     * tells whether the server switched protocols (101).
     */
    public static RawWebSocket open(int port, String pathAndQuery, Map<String, String> headers) {
        try {
            Socket s = new Socket("127.0.0.1", port);
            s.setTcpNoDelay(true);
            s.setSoTimeout(15_000);
            byte[] key = new byte[16];
            ThreadLocalRandom.current().nextBytes(key);
            StringBuilder req = new StringBuilder("GET ").append(pathAndQuery).append(" HTTP/1.1\r\n")
                    .append("Host: 127.0.0.1:").append(port).append("\r\n")
                    .append("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n")
                    .append("Sec-WebSocket-Key: ").append(Base64.getEncoder().encodeToString(key)).append("\r\n");
            headers.forEach((k, v) -> req.append(k).append(": ").append(v).append("\r\n"));
            s.getOutputStream().write(req.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
            String head = readHead(s.getInputStream());
            String[] statusLine = head.split("\r\n", 2)[0].split(" ");
            return new RawWebSocket(s, statusLine.length > 1 ? Integer.parseInt(statusLine[1]) : -1);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open " + pathAndQuery, e);
        }
    }

    private static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int matched = 0;
        while (matched < 4) {
            int b = in.read();
            if (b < 0) throw new EOFException("connection closed during the upgrade; got: " + head);
            head.write(b);
            matched = (b == "\r\n\r\n".charAt(matched)) ? matched + 1 : (b == '\r' ? 1 : 0);
        }
        return head.toString(StandardCharsets.ISO_8859_1);
    }

    public int status() {
        return status;
    }

    // ---- writing ------------------------------------------------------------------------------

    public void text(String text) {
        frame(true, 0, TEXT, text.getBytes(StandardCharsets.UTF_8), true);
    }

    /**
     * One frame exactly as given: {@code rsv} is the three reserved bits (0-7), {@code masked} false
     * sends it unmasked (a protocol violation for a client).
     */
    public void frame(boolean fin, int rsv, int opcode, byte[] payload, boolean masked) {
        writeRaw(encode(fin, rsv, opcode, payload, masked));
    }

    /** The bytes of one frame, for tests that send only part of it. */
    public static byte[] encode(boolean fin, int rsv, int opcode, byte[] payload, boolean masked) {
        ByteArrayOutputStream f = new ByteArrayOutputStream(payload.length + 14);
        f.write((fin ? 0x80 : 0) | (rsv & 7) << 4 | (opcode & 0x0f));
        int maskBit = masked ? 0x80 : 0;
        if (payload.length < 126) {
            f.write(maskBit | payload.length);
        } else if (payload.length < 65536) {
            f.write(maskBit | 126);
            f.write(payload.length >>> 8);
            f.write(payload.length);
        } else {
            f.write(maskBit | 127);
            for (int shift = 56; shift >= 0; shift -= 8) f.write((int) ((long) payload.length >>> shift));
        }
        if (masked) {
            byte[] mask = new byte[4];
            ThreadLocalRandom.current().nextBytes(mask);
            f.writeBytes(mask);
            byte[] body = payload.clone();
            for (int i = 0; i < body.length; i++) body[i] ^= mask[i & 3];
            f.writeBytes(body);
        } else {
            f.writeBytes(payload);
        }
        return f.toByteArray();
    }

    /** Writes bytes as they are; false if the server has already closed the connection. */
    public boolean writeRaw(byte[] bytes) {
        try {
            out.write(bytes);
            out.flush();
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    // ---- reading ------------------------------------------------------------------------------

    /**
     * The next data or close frame (pings are answered and skipped), or a frame with opcode -1 when
     * the connection ends without a close frame. Throws {@link SocketTimeoutException} wrapped in an
     * AssertionError if nothing arrives within {@code millis}.
     */
    public Frame next(int millis) {
        try {
            socket.setSoTimeout(millis);
            while (true) {
                int b0 = in.read();
                if (b0 < 0) return new Frame(-1, new byte[0]);
                int b1 = readByte();
                long len = b1 & 0x7f;
                if (len == 126) len = (readByte() << 8) | readByte();
                else if (len == 127) {
                    len = 0;
                    for (int i = 0; i < 8; i++) len = (len << 8) | readByte();
                }
                byte[] mask = (b1 & 0x80) != 0 ? in.readNBytes(4) : null;
                if (len > 16 << 20) throw new AssertionError("server frame of " + len + " bytes");
                byte[] payload = in.readNBytes((int) len);
                if (payload.length < len) return new Frame(-1, new byte[0]);
                if (mask != null) for (int i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
                int opcode = b0 & 0x0f;
                if (opcode == PING) {
                    writeRaw(encode(true, 0, PONG, payload, true));
                    continue;
                }
                if (opcode == PONG) continue;
                if (opcode == CLOSE) writeRaw(encode(true, 0, CLOSE, payload.length >= 2 ? new byte[] {payload[0], payload[1]} : new byte[0], true));
                return new Frame(opcode, payload);
            }
        } catch (SocketTimeoutException e) {
            throw new AssertionError("nothing from the server within " + millis + " ms");
        } catch (IOException e) {
            return new Frame(-1, new byte[0]); // reset by the server
        }
    }

    private int readByte() throws IOException {
        int b = in.read();
        if (b < 0) throw new EOFException();
        return b;
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }
}
