/**
 * The bridge's memory: which pod became which backend job, and what happened to it, in one SQLite
 * file. The intent row is written before a backend is called so a bridge killed at any moment
 * resumes without running a pod twice. Knows nothing of Kubernetes or of any backend.
 */
package io.hpcbridge.state;
