/**
 * One typed array kept from one call to the next, for a synchronous step that is done with its scratch
 * memory before it returns (no await in between: the next call gets the same memory). A fresh plane per
 * frame is one more buffer outside V8's heap to allocate, zero and collect per grading. `take(size)`
 * returns `size` elements starting at the array's start, holding whatever the last call left there: the
 * caller clears or writes every element it reads. Larger than `maxBytes`, an array of its own each time,
 * so one huge frame leaves nothing behind.
 *
 * @example const plane = createScratchBuffer(Uint8Array); // module level
 * const active = plane.take(width * height).fill(0);
 */
export function createScratchBuffer<T extends Uint8Array | Float64Array>(
  ArrayType: { new (length: number): T; readonly BYTES_PER_ELEMENT: number },
  { maxBytes = 4 << 20 }: { maxBytes?: number } = {},
): { take(size: number): T } {
  let kept = new ArrayType(0);
  return {
    take(size) {
      if (size * ArrayType.BYTES_PER_ELEMENT > maxBytes) return new ArrayType(size);
      if (kept.length < size) kept = new ArrayType(size);
      return kept.subarray(0, size) as T;
    },
  };
}
