/**
 * The bridge's memory: which pod became which backend job, and what happened to it, in one SQLite
 * file. The intent row is written before a backend is called so a bridge killed at any moment
 * resumes without running a pod twice. Speaks the backend API's vocabulary (pod references,
 * handles, observations) and knows nothing of Kubernetes or of any particular backend.
 */
package io.hpcbridge.state;
