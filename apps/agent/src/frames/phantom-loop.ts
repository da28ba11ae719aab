import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSyntheticFrames } from './synthetic-frames.ts';

/**
 * A real probe never sends the same bytes twice (thermal noise): ±2 gray levels per pixel, in place,
 * keep a looped clip from repeating bit-identical frames, which the quality gate would rightly call
 * frozen.
 */
function addSensorNoise(pixels: Uint8Array, n: number): Uint8Array {
  let x = (n * 2654435761) >>> 0 || 1;
  for (let i = 0; i < pixels.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    pixels[i] = Math.min(255, Math.max(0, pixels[i]! + ((x >>> 0) % 5) - 2));
  }
  return pixels;
}

export type PhantomLoopOptions = {
  width: number;
  height: number;
  seed?: number;
  frames?: number;
  fps?: number;
  /** Directory for the clip file (a disk, not tmpfs: the agent passes its data_dir). Default: tmpdir. */
  dir?: string;
};

/** What the simulated probe knows of its image, as a real probe knows its depth setting. */
export type ClipGeometry = { depthCm: number; pixelSpacingMm: number };

// The renderer runs from src (.ts, tests and scripts) or dist (.js, the service) alike.
const rendererPath = fileURLToPath(
  new URL(`./render-phantom-clip${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
);

/** Render the clip in a child process writing into `fd`; resolves when it exits cleanly. */
function renderInChild(
  fd: number,
  o: Required<Omit<PhantomLoopOptions, 'dir'>>,
  onSpawn: (c: ChildProcess) => void,
  onGeometry: (g: ClipGeometry) => void,
) {
  return new Promise<void>((resolve, reject) => {
    const args = [o.width, o.height, o.seed, o.frames, o.fps].map(String);
    const child = spawn(process.execPath, [rendererPath, ...args], {
      stdio: ['ignore', 'pipe', 'pipe', fd],
    });
    onSpawn(child);
    let stdout = '';
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n') && line) {
        const g = JSON.parse(line) as ClipGeometry;
        if (g.pixelSpacingMm > 0 && g.depthCm > 0) onGeometry(g);
      }
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      code === 0
        ? resolve()
        : reject(new Error(`phantom clip renderer exited with ${code ?? signal}: ${stderr.trim()}`)),
    );
  });
}

/**
 * B-mode phantom frames from @cti/imaging for the simulated probe. Rendering one frame takes 0.1-0.4 s
 * of CPU and large temporary buffers, far too slow for the capture loop and too heavy for the agent's
 * heap, so a short clip of `frames` consecutive frames (probe sway, speckle decorrelation) is rendered
 * once by a child process into an unlinked file on disk, then played in a loop: each frame is read
 * from the file into a fresh buffer (it goes into the capture ring) with per-frame sensor noise. The
 * agent holds no copy of the clip (the page cache does, reclaimably). Forward only: a back-and-forth
 * loop would repeat bit-identical frames around its turning points. Until the clip is ready the cheap
 * synthetic generator stands in.
 */
export function createPhantomLoop({
  width,
  height,
  // Seed 303: a linear-probe transverse view (17 cm deep) of a finished steer's ribeye, 93 cm² under
  // 9 mm of fat, wholly inside the field through the clip's sway, so the demo shows a typical usable
  // scan with figures a grader would believe (graded A, REA 91 cm², fat 8–9 mm). Seed 3's ribeye ran
  // off the field's edge (every capture M `ribeye_cut_off`); seed 8's was 28 cm² under 26 mm of fat.
  seed = 303,
  frames = 24,
  fps = 10,
  dir,
}: PhantomLoopOptions) {
  const fallback = createSyntheticFrames({ width, height, seed });
  const frameBytes = width * height;
  const file = join(dir ?? tmpdir(), `.cti-phantom-clip-${process.pid}-${Date.now()}.raw`);
  // Opened and unlinked at once: the renderer writes through the inherited descriptor, and nothing is
  // left behind whatever happens to either process.
  const fd = openSync(file, 'w+', 0o600);
  unlinkSync(file);
  const renderer: { child?: ChildProcess } = {};
  let ready = false;
  let closed = false;
  let failed: Error | null = null;
  let geometry: ClipGeometry | null = null;
  const done = renderInChild(
    fd,
    { width, height, seed, frames, fps },
    (c) => {
      renderer.child = c;
    },
    (g) => {
      geometry = g;
    },
  ).then(
    () => {
      ready = !closed;
    },
    (err: Error) => {
      if (!closed) failed = err;
    },
  );
  return {
    ready: done,
    error: () => failed,
    /** The clip's depth and pixel spacing once it plays (the synthetic stand-in has none). */
    geometry: (): ClipGeometry | null => (ready ? geometry : null),
    /** Frame `n` with fresh sensor noise, written into `into` when given (a pooled buffer). */
    pixels(n: number, into?: Uint8Array): Uint8Array {
      if (!ready) return fallback(n, into);
      const out = into?.length === frameBytes ? into : new Uint8Array(frameBytes);
      readSync(fd, out, 0, frameBytes, (n % frames) * frameBytes);
      return addSensorNoise(out, n);
    },
    /** Stop a renderer still running and release the clip file. */
    close(): void {
      if (closed) return;
      closed = true;
      ready = false;
      renderer.child?.kill('SIGTERM');
      closeSync(fd);
    },
  };
}
