package io.tidings.server.http;

import io.tidings.storage.Appended;
import io.tidings.storage.NewEvent;

import java.util.List;

/**
 * What a publishing endpoint accepts and answers: {@link PublishHandler} reads the body, checks the
 * key, appends and counts; a format turns the body into events (all validated: a rejected body
 * appends nothing) and the committed offsets into the answer. One per endpoint ({@code /v1/events},
 * the AnyCable broadcast endpoint).
 *
 * <p>Implementations are immutable and thread-safe.
 */
public interface PublishFormat {
    /** The events of a body, in order, plus whatever the answer needs to know about its shape. */
    record Batch(List<NewEvent> events, boolean single) {
    }

    /** @throws ApiError naming the first problem; nothing is appended */
    Batch parse(byte[] body) throws ApiError;

    /** HTTP status of a committed batch. */
    int status();

    /** Body of the answer for a committed batch (JSON). */
    String answer(Batch batch, List<Appended> appended);
}
