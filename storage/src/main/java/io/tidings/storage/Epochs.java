package io.tidings.storage;

import java.security.SecureRandom;

/** Epoch ids: 12 random characters of [0-9a-z], made once when a log is created. */
final class Epochs {
    private static final String ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz";
    static final int LENGTH = 12;
    private static final SecureRandom RANDOM = new SecureRandom();

    private Epochs() {}

    static String random() {
        char[] c = new char[LENGTH];
        for (int i = 0; i < LENGTH; i++) c[i] = ALPHABET.charAt(RANDOM.nextInt(ALPHABET.length()));
        return new String(c);
    }

    static boolean isWellFormed(String epoch) {
        if (epoch.length() != LENGTH) return false;
        for (int i = 0; i < epoch.length(); i++) {
            if (ALPHABET.indexOf(epoch.charAt(i)) < 0) return false;
        }
        return true;
    }
}
