/**
 * V8 flags the grading worker should be started with (`node --initial-old-space-size=64
 * --max-semi-space-size=4 --single-threaded dist/main.js worker`; the image's ENTRYPOINT does). Each scan allocates a
 * few MB of JS heap and ~10 MB of image buffers while only ~22 MB stay live, so V8's default
 * old-generation limit (about twice the live heap) keeps it marking and compacting almost once per
 * scan: ~27 ms of CPU per scan in a profile, as much as the segmentation model. A 64 MB initial old
 * generation lets the garbage go young. A young generation capped at 4 MB semi-spaces (V8 grows it
 * to 16 MB) is collected often enough that the image buffers the dead scans held are freed by cheap
 * scavenges instead of piling up as external memory until a full collection: with both flags the
 * bench's workers run ~1 scavenge and ~0.06 mark-compacts per scan instead of ~0.1 and ~0.35, and
 * ~7 ms less CPU per scan (apps/server/README.md, "Grading benchmark"). `--single-threaded` keeps V8's
 * collections and compilations on the worker's own thread instead of handing them to background threads:
 * a worker shares its cores with other busy processes, where the helpers add CPU of their own (hand-offs,
 * synchronisation) rather than take work off a critical path; in six pairs of workers grading side by
 * side, 0.3–2.8 ms less CPU per scan (apps/server/README.md, "Ninth
 * pass"). These flags cannot be set through NODE_OPTIONS, nor after start-up.
 *
 * @example spawn(process.execPath, [...WORKER_NODE_FLAGS, 'dist/main.js', 'worker']);
 */
export const WORKER_NODE_FLAGS: readonly string[] = [
  '--initial-old-space-size=64',
  '--max-semi-space-size=4',
  '--single-threaded',
];

/** The recommended flags this process was started without (for a warning at start-up). */
export function missingWorkerNodeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return WORKER_NODE_FLAGS.filter((flag) => !execArgv.includes(flag));
}
