/**
 * What the local backend and its per-pod supervisor process share: the pod directory's layout and
 * JSON files, atomic file writes, and small helpers for {@code /proc} and host tools.
 */
package io.hpcbridge.backend.local.common;
