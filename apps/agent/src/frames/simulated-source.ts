import { performance } from 'node:perf_hooks';
import type { FramePool } from './frame-pool.ts';
import {
  type Acquisition,
  createFrameListeners,
  type FrameSource,
  type ProbeIdentity,
} from './frame-source.ts';
import { createSyntheticFrames } from './synthetic-frames.ts';

export type FramePixels = (n: number, into?: Uint8Array) => Uint8Array;

export type SimulatedSourceOptions = {
  width?: number;
  height?: number;
  fps?: number;
  seed?: number;
  /**
   * Pixels for frame n; defaults to the built-in synthetic B-mode generator. `into`, when given, is a
   * pooled width × height buffer to fill (a generator may ignore it and return its own).
   */
  framePixels?: FramePixels;
  /** Where frame buffers come from (the agent's pool, refilled as the capture ring lets frames go). */
  pool?: FramePool;
  identity?: ProbeIdentity;
  /** What the probe knows of the current frame's acquisition (e.g. the phantom clip's depth and pixel spacing). */
  acquisition?: () => Partial<Acquisition>;
  now?: () => number;
};

/**
 * A live stream of synthetic B-mode frames on a timer, for the demo and tests without a probe.
 * `setFramePixels` lets a demo or test switch what the "probe" sees (e.g. a black frame = probe lifted).
 */
export function createSimulatedSource(options: SimulatedSourceOptions = {}) {
  const { width = 512, height = 384, fps = 15, seed = 1 } = options;
  const now = options.now ?? (() => performance.now());
  const identity = options.identity ?? { model: 'SIM-Convex-3.5', frequencyMhz: 3.5 };
  let pixels = options.framePixels ?? createSyntheticFrames({ width, height, seed });
  const listeners = createFrameListeners();
  let timer: NodeJS.Timeout | null = null;
  let seq = 0;
  let lastFrameAt: number | null = null;

  const tick = () => {
    lastFrameAt = now();
    const n = seq++;
    listeners.emit({
      seq: n,
      receivedAt: lastFrameAt,
      width,
      height,
      gray: pixels(n, options.pool?.acquire(width * height)),
      origin: 'simulated',
      acquisition: {
        probeModel: identity.model,
        frequencyMhz: identity.frequencyMhz,
        depthCm: 18,
        gainDb: 42,
        ...options.acquisition?.(),
      },
    });
  };

  const source: FrameSource & { setFramePixels(fn: FramePixels): void; tick(): void } = {
    async start() {
      if (!timer && fps > 0) timer = setInterval(tick, 1000 / fps);
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
    onFrame: listeners.add,
    identity: () => identity,
    status: () => ({
      kind: 'simulated',
      connected: timer !== null || fps === 0,
      frames: seq,
      droppedFrames: 0,
      lastFrameAt,
      detail: { fps, width, height },
    }),
    setFramePixels(fn) {
      pixels = fn;
    },
    /** Emit one frame now (tests with fps 0). */
    tick,
  };
  return source;
}
