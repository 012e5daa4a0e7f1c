package io.hpcbridge.backend;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.time.Instant;

/**
 * Finds where the last N wanted lines of a stored log file start, reading backwards from its end in
 * blocks, so {@code tailLines} costs the size of the tail, not of the file, and a fixed amount of
 * memory. Lines are counted as {@link TimestampedLog.LineReader} reads them forwards: a line longer
 * than {@link TimestampedLog#MAX_READ_LINE_BYTES} counts once per piece, and each piece is kept or
 * dropped by {@code since} on its own.
 */
final class TailFinder {

  private static final int BLOCK = 64 * 1024;

  /** Enough of a line's start to read its timestamp. */
  private static final int HEAD = 64;

  private final FileChannel ch;
  private final Instant since;
  private final int max;
  private final ByteBuffer block = ByteBuffer.allocate(BLOCK);
  private long blockStart;
  private int blockLen;
  private long need;

  TailFinder(FileChannel ch, Instant since) {
    this(ch, since, TimestampedLog.MAX_READ_LINE_BYTES);
  }

  TailFinder(FileChannel ch, Instant since, int maxLine) {
    this.ch = ch;
    this.since = since;
    this.max = maxLine;
  }

  /**
   * The offset to read from so that the last {@code tail} wanted lines come out.
   *
   * @param unterminatedIsALine whether bytes after the last newline count as a line (they do when
   *     the file is read to its end once; when it is followed they are not a line yet)
   */
  long start(int tail, boolean unterminatedIsALine) throws IOException {
    long size = ch.size();
    long linesEnd = previousNewline(size) + 1;
    need = tail;
    if (need <= 0) {
      return unterminatedIsALine ? size : linesEnd;
    }
    if (unterminatedIsALine && linesEnd < size) {
      long at = count(linesEnd, size);
      if (at >= 0) {
        return at;
      }
    }
    long newline = linesEnd - 1;
    while (newline >= 0) {
      long start = previousNewline(newline) + 1;
      long at = count(start, newline);
      if (at >= 0) {
        return at;
      }
      newline = start - 1;
    }
    return 0;
  }

  /**
   * Counts the wanted pieces of the line {@code [start, end)} from its end: the offset of the piece
   * that completes the tail, or -1 when more lines are needed.
   */
  private long count(long start, long end) throws IOException {
    long length = end - start;
    long pieces = length <= max ? 1 : (length + max - 1) / max;
    for (long k = pieces - 1; k >= 0; k--) {
      long at = start + k * max;
      if (wanted(at, Math.min(end, at + max)) && --need == 0) {
        return at;
      }
    }
    return -1;
  }

  private boolean wanted(long start, long end) throws IOException {
    if (since == null) {
      return true;
    }
    ByteBuffer head = ByteBuffer.allocate((int) Math.min(HEAD, end - start));
    while (head.hasRemaining()) {
      if (ch.read(head, start + head.position()) < 0) {
        break;
      }
    }
    byte[] raw = new byte[head.position()];
    head.flip().get(raw);
    return TimestampedLog.wanted(raw, since);
  }

  /** The offset of the last newline before {@code before}, or -1. */
  private long previousNewline(long before) throws IOException {
    long p = before - 1;
    while (p >= 0) {
      if (p < blockStart || p >= blockStart + blockLen) {
        load(p);
      }
      for (int i = (int) (p - blockStart); i >= 0; i--) {
        if (block.get(i) == '\n') {
          return blockStart + i;
        }
      }
      p = blockStart - 1;
    }
    return -1;
  }

  /** Loads the block that ends at {@code last} (inclusive). */
  private void load(long last) throws IOException {
    long start = Math.max(0, last + 1 - BLOCK);
    block.clear();
    block.limit((int) (last + 1 - start));
    while (block.hasRemaining()) {
      if (ch.read(block, start + block.position()) < 0) {
        break;
      }
    }
    blockStart = start;
    blockLen = block.position();
  }
}
