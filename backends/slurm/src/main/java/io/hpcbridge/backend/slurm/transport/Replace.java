package io.hpcbridge.backend.slurm.transport;

import io.hpcbridge.backend.BackendException;
import java.security.SecureRandom;
import java.util.HexFormat;

/** Helpers of {@link Transport#replace}: temporary names nobody can guess, and its refusal. */
final class Replace {
  private static final SecureRandom RANDOM = new SecureRandom();

  private Replace() {}

  static String randomName() {
    byte[] b = new byte[16];
    RANDOM.nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  static BackendException.InvalidPod unsafe(String path) {
    return new BackendException.InvalidPod(
        "UnsafeVolumePath", path + " is not a directory (a symlink?); the volume is not written");
  }
}
