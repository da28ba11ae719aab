/** What the probe (or console) says about how a frame was acquired; all optional. */
export type Acquisition = {
  probeModel?: string;
  frequencyMhz?: number;
  depthCm?: number;
  gainDb?: number;
  /** Millimetres per pixel of this frame along the vertical (depth) axis, when the console states it. */
  pixelSpacingMm?: number;
  /** A pixel's width ÷ its height (contracts' pixelAspectSchema), when the console states it. */
  pixelAspect?: number;
};

/** One 8-bit grayscale frame as delivered by a source. */
export type Frame = {
  /** Source sequence number (probe seq, file counter or generator counter). */
  seq: number;
  /** When the agent received it, in ms of the agent's monotonic clock (`performance.now()`). */
  receivedAt: number;
  width: number;
  height: number;
  /** Row-major gray pixels, width × height bytes. */
  gray: Uint8Array;
  acquisition: Acquisition;
  /** The probe reports its image is frozen (the sonographer pressed freeze). */
  frozen?: boolean;
  /** Where it came from: 'serial', 'folder:<file>', 'simulated'. */
  origin: string;
};

/** Identity the probe reports (identify reply) or the config states. */
/**
 * A probe model as meta.json's probe.model holds it (1-128 characters, and no U+0000, which the server
 * refuses), else undefined. Probe replies and console sidecars are outside input: an out-of-range value
 * passed on made buildMeta refuse every capture as an agent bug (InvalidMetaError).
 */
export function metaProbeModel(value: unknown): string | undefined {
  return typeof value === 'string' && value.length >= 1 && value.length <= 128 && !value.includes('\u0000')
    ? value
    : undefined;
}

/** A frequency as meta.json's probe.frequency_mhz holds it (finite, > 0), else undefined. */
export function metaFrequencyMhz(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : undefined;
}

export type ProbeIdentity = { model: string; frequencyMhz?: number; serial?: string; firmware?: string };

export type SourceStatus = {
  kind: 'serial' | 'folder' | 'simulated';
  connected: boolean;
  frames: number;
  droppedFrames: number;
  /** Agent monotonic ms of the last frame, null before the first. */
  lastFrameAt: number | null;
  detail: Record<string, unknown>;
};

/**
 * Every frame source (serial probe, folder drop, simulated probe) behind one interface: the capture
 * pipeline subscribes with `onFrame` and never knows which one it has.
 */
export type FrameSource = {
  start(): Promise<void>;
  stop(): Promise<void>;
  onFrame(listener: (frame: Frame) => void): () => void;
  status(): SourceStatus;
  /** The probe's own identity when it can tell (serial identify reply), else null. */
  identity(): ProbeIdentity | null;
};

/** Small listener registry shared by the sources. */
export function createFrameListeners() {
  const listeners = new Set<(frame: Frame) => void>();
  return {
    add(listener: (frame: Frame) => void): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    emit(frame: Frame): void {
      for (const listener of listeners) listener(frame);
    },
  };
}
