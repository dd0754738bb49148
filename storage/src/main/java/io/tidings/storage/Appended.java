package io.tidings.storage;

/**
 * The answer to an append: where the event sits and when it was appended.
 *
 * @param duplicate true when the producer id was seen within the dedupe window: nothing was
 *                  appended and offset/time are those of the original event
 */
public record Appended(Offset offset, long timeMillis, boolean duplicate) {
}
