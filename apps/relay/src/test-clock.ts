// Test support (not built): a clock whose sleeps advance fake time at once, with an optional hook
// that runs on each sleep (e.g. to upload the missing image while the relay waits).
import type { Clock } from './clock.ts';

export function fakeClock(onSleep?: (ms: number, n: number) => Promise<void> | void) {
  let t = Date.now();
  const sleeps: number[] = [];
  const clock: Clock = {
    now: () => t,
    async sleep(ms) {
      sleeps.push(ms);
      await onSleep?.(ms, sleeps.length - 1);
      t += ms;
    },
  };
  return { clock, sleeps };
}
