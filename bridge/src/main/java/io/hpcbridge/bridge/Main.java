package io.hpcbridge.bridge;

public final class Main {
  public static void main(String[] args) {}
}
