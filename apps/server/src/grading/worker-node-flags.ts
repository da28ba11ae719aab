/**
 * V8 flags the grading worker should be started with (`node --initial-old-space-size=64 dist/main.js
 * worker`; infra/docker/compose.yaml does). Each scan allocates a few MB of JS heap and ~10 MB of
 * image buffers while only ~22 MB stay live, so V8's default old-generation limit (about twice the
 * live heap) keeps it marking and compacting almost once per scan: ~27 ms of CPU per scan in a
 * profile, as much as the segmentation model. A 64 MB initial old generation lets the garbage go
 * young and cuts that to a full collection every ~10 scans (numbers in apps/server/README.md,
 * "Grading benchmark"). These flags cannot be set through NODE_OPTIONS, nor after start-up.
 *
 * @example spawn(process.execPath, [...WORKER_NODE_FLAGS, 'dist/main.js', 'worker']);
 */
export const WORKER_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=64'];

/** The recommended flags this process was started without (for a warning at start-up). */
export function missingWorkerNodeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return WORKER_NODE_FLAGS.filter((flag) => !execArgv.includes(flag));
}
