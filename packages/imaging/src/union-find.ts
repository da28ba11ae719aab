/**
 * Union-find over slots `0..n-1` held in `parent` (a slot is a root when `parent[s] === s`): the root
 * of slot `s`, paths halved on the way. Shared by the run-based labellers (the ruler's ink components,
 * the segmentation's mask clean-up), which join slots with `parent[rootA] = rootB`.
 *
 * @example const parent = Int32Array.of(0, 0, 1); findRoot(parent, 2) // → 0
 */
export function findRoot(parent: Int32Array, s: number): number {
  while (parent[s] !== s) {
    parent[s] = parent[parent[s]!]!;
    s = parent[s]!;
  }
  return s;
}
