package io.tidings.storage;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Producer ids seen within the dedupe window, oldest first, bounded by count. Not thread-safe:
 * used by the writer under its append lock.
 */
final class DedupeIndex {
    private final long windowMillis;
    private final int maxIds;
    private final LinkedHashMap<String, Appended> byId = new LinkedHashMap<>();

    DedupeIndex(long windowMillis, int maxIds) {
        this.windowMillis = windowMillis;
        this.maxIds = maxIds;
    }

    /** The original append of this producer id if it is within the window at {@code nowMillis}. */
    Appended find(String producerId, long nowMillis) {
        expire(nowMillis);
        Appended a = byId.get(producerId);
        return a == null ? null : new Appended(a.offset(), a.timeMillis(), true);
    }

    void remember(String producerId, Appended appended) {
        if (maxIds == 0 || windowMillis == 0) return;
        if (byId.put(producerId, appended) != null) { // seen before (recovery, after its window): move it to the newest end
            byId.remove(producerId);
            byId.put(producerId, appended);
        }
        if (byId.size() > maxIds) {
            Iterator<String> oldest = byId.keySet().iterator();
            oldest.next();
            oldest.remove();
        }
    }

    private void expire(long nowMillis) {
        Iterator<Map.Entry<String, Appended>> it = byId.entrySet().iterator();
        while (it.hasNext() && it.next().getValue().timeMillis() < nowMillis - windowMillis) it.remove();
    }
}
