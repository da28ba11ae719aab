import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { PIXEL_ASPECT_RANGE } from '@cti/contracts';
import {
  type DicomImage,
  declaredImageSize,
  decodeDicom,
  decodeGray,
  type GrayImage,
  isDicom,
  toGray,
} from '@cti/imaging';
import { type Logger, silentLogger } from '@cti/runtime';
import { type FSWatcher, watch } from 'chokidar';
import { type Acquisition, createFrameListeners, type FrameSource, metaProbeModel } from './frame-source.ts';

export type FolderSourceOptions = {
  dir: string;
  /** How long a file must go without a write (and without a size change) before it is read. */
  stableMs?: number;
  pollMs?: number;
  /** How often the folder itself is checked: gone, or replaced (a USB stick remounted, a share back). */
  folderCheckMs?: number;
  log?: Logger;
  now?: () => number;
  /** Larger images are refused from their header, before decoding (default MAX_FRAME_PIXELS). */
  maxPixels?: number;
  /** How many file names each memory keeps (frames taken, sidecars used); default 1024. */
  rememberNames?: number;
};

/**
 * 4096 × 4096: above any console export. A 750 kB PNG can declare 16000 × 16000 pixels: decoding it
 * took 1.1 GB of RSS and seconds of CPU (an out-of-memory kill on a Pi), and each such frame in the
 * capture ring would hold 256 MB.
 */
export const MAX_FRAME_PIXELS = 4096 * 4096;

/**
 * width × height from the image's header, whatever its format (the decoder goes by the bytes, not the
 * extension); 0 when unreadable (the decoder says why).
 */
async function declaredPixels(bytes: Uint8Array): Promise<number> {
  const size = await declaredImageSize(bytes);
  return size ? size.width * size.height : 0;
}

/** The folder's identity (device and inode), or null when `dir` is no folder now. */
async function folderId(dir: string): Promise<string | null> {
  try {
    const s = await stat(dir);
    return s.isDirectory() ? `${s.dev}:${s.ino}` : null;
  } catch {
    return null;
  }
}

const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.bmp', '.dcm', '.dicom']);
// Names that writers use while a file is still being produced; only the final rename counts.
const TEMP_NAME = /(^\.|~$|\.(tmp|temp|part|partial|crdownload|swp|download)$)/i;

/**
 * Names consoles give DICOM files without a DICOM extension: none at all ("IM0001"), or a UID whose
 * last part looks like one ("1.2.840.113619.2.55.3"). Such a file is a frame only if its bytes are
 * DICOM ("DICM" after the preamble); DICOMDIR (the export's index, no image) never is.
 */
function dicomByContent(name: string): boolean {
  const ext = extname(name);
  return name.toUpperCase() !== 'DICOMDIR' && (ext === '' || /^\.\d+$/.test(ext));
}

/** True for a file name the folder source takes as a frame (an extension-less one if it is DICOM). */
export function isFrameFileName(name: string): boolean {
  return !TEMP_NAME.test(name) && (IMAGE_EXTENSIONS.has(extname(name).toLowerCase()) || dicomByContent(name));
}

/** The name a frame's sidecar shares: without its image extension ("scan.dcm", "IM0001" → "scan", "IM0001"). */
function frameBaseName(name: string): string {
  const ext = extname(name);
  return IMAGE_EXTENSIONS.has(ext.toLowerCase()) ? basename(name, ext) : name;
}

/**
 * What meta.json accepts for each sidecar field (contracts' meta schema: probe.model, probe.frequency_mhz,
 * acquisition.*). A console's sidecar is outside input: a value out of range used to go straight into
 * meta.json, so buildMeta refused every capture from that console as an agent bug (InvalidMetaError).
 */
const SIDECAR_FIELDS = {
  frequency_mhz: (v: number) => v > 0,
  depth_cm: (v: number) => v > 0,
  gain_db: () => true,
  pixel_spacing_mm: (v: number) => v > 0 && v <= 10,
  pixel_aspect: (v: number) => v >= PIXEL_ASPECT_RANGE[0] && v <= PIXEL_ASPECT_RANGE[1],
} as const;

/** The sidecar's acquisition fields that meta.json can hold; the others are dropped and named in `dropped`. */
export function sidecarAcquisition(data: unknown, dropped: string[] = []): Acquisition {
  const record = (typeof data === 'object' && data !== null && !Array.isArray(data) ? data : {}) as Record<
    string,
    unknown
  >;
  const num = (k: keyof typeof SIDECAR_FIELDS) => {
    const v = record[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'number' && Number.isFinite(v) && SIDECAR_FIELDS[k](v)) return v;
    dropped.push(`${k}=${JSON.stringify(v)?.slice(0, 40)}`);
    return undefined;
  };
  const model = record.probe_model;
  const probeModel = metaProbeModel(model);
  if (model !== undefined && model !== null && probeModel === undefined)
    dropped.push(`probe_model=${JSON.stringify(model)?.slice(0, 40)}`);
  return {
    probeModel,
    frequencyMhz: num('frequency_mhz'),
    depthCm: num('depth_cm'),
    gainDb: num('gain_db'),
    pixelSpacingMm: num('pixel_spacing_mm'),
    pixelAspect: num('pixel_aspect'),
  };
}

/** A frame file decoded: its pixels, and for DICOM what the file states about acquisition. */
type Decoded = { image: GrayImage; fromFile: Acquisition; dicom?: DicomImage; dropped: string[] };

/**
 * PNG/JPEG/BMP after the size guard; DICOM by its own reader (bounded by `maxPixels` before it allocates),
 * its calibration put through the sidecar's rules (SIDECAR_FIELDS: out of range → in `dropped`).
 */
async function decodeFrameFile(name: string, bytes: Uint8Array, maxPixels: number): Promise<Decoded> {
  if (!isDicom(bytes)) {
    const pixels = await declaredPixels(bytes);
    if (pixels > maxPixels) throw new Error(`declares ${pixels} pixels, over the ${maxPixels} limit`);
    // decodeGray refuses truncated PNG/JPEG/BMP, which is what keeps half-written exports out.
    return { image: await decodeGray(bytes), fromFile: {}, dropped: [] };
  }
  // decodeDicom refuses a DICOM cut short (every length is checked), like a truncated PNG.
  const dicom = await decodeDicom(bytes, { name, maxPixels });
  const c = dicom.calibration;
  const dropped: string[] = [];
  const fromFile = sidecarAcquisition(
    {
      probe_model: c.probeModel,
      frequency_mhz: c.frequencyMhz,
      depth_cm: c.depthCm,
      pixel_spacing_mm: c.pixelSpacingMm,
      pixel_aspect: c.pixelAspect,
    },
    dropped,
  );
  return { image: toGray(dicom.image), fromFile, dicom, dropped };
}

/** `base` with every field `over` states replaced by it (the sidecar over the DICOM's own values). */
function overlay(base: Acquisition, over: Acquisition): Acquisition {
  const merged: Record<string, unknown> = { ...base, ...over };
  for (const [key, value] of Object.entries(base)) merged[key] ??= value;
  return merged as Acquisition;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** What the last frame taken from a file name was: to tell a writer that resumed from a new export. */
type Taken = { length: number; bytes: string; pixels: string; file: Stats };
/**
 * File names remembered per map (frames taken, sidecars used): a console writing unique names would
 * otherwise grow them for ever. Only a name reused after this many others is forgotten.
 */
const REMEMBERED_NAMES = 1024;

/** Sets `key` as `map`'s most recent entry, dropping the oldest past `limit` (insertion order). */
function rememberRecent<V>(map: Map<string, V>, key: string, value: V, limit: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > limit) map.delete(map.keys().next().value!);
}

/** Same file, same size, same mtime: nothing was written between the two looks. */
const sameFile = (a: Stats, b: Stats) => a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;

/** A DICOM file's preamble and "DICM": what tells it from any other file named like no image. */
const DICOM_HEAD = 132;

/** The first `length` bytes of the file (fewer if it is shorter). */
async function readHead(path: string, length: number): Promise<Uint8Array> {
  const file = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await file.read(Buffer.alloc(length), 0, length, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

/**
 * The file's bytes, or null when it changed while (or just before) it was read: its size or mtime
 * differs from `settled` (the look that found it stable) or moved during the read.
 */
async function readUnchanged(path: string, settled: Stats): Promise<Uint8Array | null> {
  const file = await open(path, 'r');
  try {
    const before = await file.stat();
    const bytes = await file.readFile();
    const after = await file.stat();
    return sameFile(settled, before) && sameFile(before, after) && bytes.length === after.size ? bytes : null;
  } finally {
    await file.close();
  }
}

/**
 * Frames exported by an ultrasound console into a directory (PNG/JPEG/BMP, DICOM as `.dcm`/`.dicom` or
 * with no extension; optional `<name>.json` sidecar with probe_model, frequency_mhz, depth_cm, gain_db,
 * pixel_spacing_mm, pixel_aspect, each of which wins over what a DICOM file states). Only complete files are taken: temp
 * names are ignored, a file must go `stableMs` without a write, and a file that still fails to decode
 * (a writer that paused mid-file) is skipped until its next change. A sidecar not there yet (written
 * after its image) is waited for up to `stableMs` more; another image's is never taken.
 *
 * Every write to a frame file is looked at (the watcher's raw events: chokidar's own change events
 * compare size and mtime, and missed a same-size re-export within one mtime step). A file written again
 * after it was taken is a new frame unless the bytes taken are a strict prefix of its new bytes and they
 * decode to the same pixels: then the writer had paused after the image data and only finished the
 * file — the same frame, completed late, not taken twice. The same bytes written again are a new export,
 * unless inode, size and mtime are all unchanged too: that is an attribute change (chmod, chown), not a write.
 */
export function createFolderSource(
  options: FolderSourceOptions,
): FrameSource & { rememberedNames(): { taken: number; sidecars: number } } {
  const {
    dir,
    stableMs = 300,
    pollMs = 50,
    folderCheckMs = 1000,
    maxPixels = MAX_FRAME_PIXELS,
    rememberNames = REMEMBERED_NAMES,
  } = options;
  const log = options.log ?? silentLogger();
  const now = options.now ?? (() => performance.now());
  const listeners = createFrameListeners();
  let watcher: FSWatcher | null = null;
  /** dev:ino of the folder `watcher` watches; another value at `dir` is another folder. */
  let watchedId: string | null = null;
  /** `watcher` has made its first scan: files from now on are seen (earlier ones are not frames). */
  let watching = false;
  let started = false;
  const abort = new AbortController();
  let loop: Promise<void> | null = null;
  let frames = 0;
  let rejected = 0;
  let lastFrameAt: number | null = null;
  let lastFile: string | null = null;

  // Per base name, the identity (inode, size, mtime) of the sidecar the last frame of that name took: a
  // console that reuses one name and writes the image first would otherwise give the new image the old
  // sidecar. By identity, not by order: after a clock step back, a new sidecar's mtime is older than the
  // one it replaces (review r20 F6), as for frames (sameFile). Bounded like `taken` (rememberRecent).
  const usedSidecars = new Map<string, string>();
  /** Per file name, the last frame taken from it. */
  const taken = new Map<string, Taken>();
  /** Per file name, its write events so far; a file waiting to settle is in `settling`. */
  const writes = new Map<string, number>();
  const settling = new Set<string>();

  /** This image's sidecar, parsed, or why there is none yet ('missing', 'stale', 'unreadable'). */
  const readSidecar = async (
    base: string,
    sidecar: string,
  ): Promise<{ acquisition: Acquisition; identity: string } | { missing: string }> => {
    try {
      const { ino, size, mtimeNs } = await stat(sidecar, { bigint: true });
      const identity = `${ino}:${size}:${mtimeNs}`;
      if (usedSidecars.get(base) === identity) return { missing: 'stale' };
      const dropped: string[] = [];
      const acquisition = sidecarAcquisition(JSON.parse(await readFile(sidecar, 'utf8')), dropped);
      if (dropped.length > 0) log.warn({ sidecar, dropped }, 'ignoring sidecar values meta.json cannot hold');
      return { acquisition, identity };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      return { missing: code === 'ENOENT' ? 'missing' : `unreadable: ${(err as Error).message}` };
    }
  };

  /**
   * The image's own `<name>.json`: one written before the image is there at once; one written after
   * it (or still being written) is waited for, polling, up to the stability window. The very sidecar
   * the previous frame of this name took (same inode, size and mtime) is another image's and is never used.
   */
  const awaitSidecar = async (path: string): Promise<Acquisition> => {
    const base = frameBaseName(basename(path));
    const sidecar = join(dir, `${base}.json`);
    const polls = Math.max(1, Math.ceil(stableMs / pollMs));
    let found = await readSidecar(base, sidecar);
    if ('missing' in found) log.debug({ sidecar, why: found.missing }, 'waiting for the frame’s sidecar');
    for (let i = 0; i < polls && 'missing' in found; i++) {
      await delay(pollMs);
      found = await readSidecar(base, sidecar);
    }
    if ('missing' in found) {
      if (found.missing !== 'missing')
        log.warn({ sidecar, why: found.missing }, 'taking the frame without its sidecar');
      return {};
    }
    rememberRecent(usedSidecars, base, found.identity, rememberNames);
    return found.acquisition;
  };

  /** The same frame completed late: what was taken is a strict prefix of `bytes`, with the same pixels. */
  const completedLate = (name: string, bytes: Uint8Array, pixels: string) => {
    const last = taken.get(name);
    return (
      last !== undefined &&
      bytes.length > last.length &&
      last.pixels === pixels &&
      sha256(bytes.subarray(0, last.length)) === last.bytes
    );
  };

  /** The same bytes, inode, size and mtime as the frame taken: a chmod, chown or touch, not a write. */
  const unwritten = (name: string, entry: Taken) => {
    const last = taken.get(name);
    return last !== undefined && last.bytes === entry.bytes && sameFile(last.file, entry.file);
  };

  /** What a DICOM frame's log says: a clip's frame taken, calibration choices, values meta.json cannot hold. */
  const logDicom = (file: string, dicom: DicomImage, dropped: string[]) => {
    const { frames: count, transferSyntax, calibration } = dicom;
    if (count > 1)
      log.info({ file, frames: count }, 'DICOM cine clip: took its last frame (the frozen image)');
    const source = calibration.spacingSource ?? 'none';
    log.info(
      { file, transferSyntax: transferSyntax.name, spacingSource: source, notes: calibration.notes },
      'DICOM frame',
    );
    if (dropped.length > 0) log.warn({ file, dropped }, 'ignoring DICOM values meta.json cannot hold');
  };

  const remember = (name: string, entry: Taken) => rememberRecent(taken, name, entry, rememberNames);

  /** Reads, decodes and emits `name` once it has settled (`settled`: the look that found it so). */
  const take = async (name: string, settled: Stats, writesSeen: number) => {
    const path = join(dir, name);
    try {
      // Only the preamble of a file named like no image is read first: it may be anything, of any size.
      if (dicomByContent(name) && !isDicom(await readHead(path, DICOM_HEAD)))
        return log.debug({ file: name }, 'file without an image extension is not DICOM: not a frame');
      const bytes = await readUnchanged(path, settled);
      if (!bytes)
        return log.debug({ file: name }, 'frame file changed as it was read; waiting for it to settle');
      const { image, fromFile, dicom, dropped } = await decodeFrameFile(name, bytes, maxPixels);
      const entry = { length: bytes.length, bytes: sha256(bytes), pixels: sha256(image.data), file: settled };
      if (unwritten(name, entry))
        return log.debug({ file: name }, 'frame file’s attributes changed, not its bytes: not a new frame');
      if (completedLate(name, bytes, entry.pixels)) {
        remember(name, entry);
        return log.info(
          { file: name },
          'frame file completed late by its writer: same frame, not taken again',
        );
      }
      // The sidecar is the operator's own word: each field it states wins over the DICOM's.
      const acquisition = overlay(fromFile, await awaitSidecar(path));
      // Written again meanwhile: the wait that write started takes the file.
      if (writes.get(name) !== writesSeen)
        return log.debug({ file: name }, 'frame file written again as it was read; waiting for it to settle');
      remember(name, entry);
      if (dicom) logDicom(name, dicom, dropped);
      frames += 1;
      lastFrameAt = now();
      lastFile = name;
      listeners.emit({
        seq: frames,
        receivedAt: lastFrameAt,
        width: image.width,
        height: image.height,
        gray: image.data,
        acquisition,
        origin: `folder:${name}`,
      });
    } catch (err) {
      rejected += 1;
      log.warn({ file: name, err: (err as Error).message }, 'skipping incomplete or unreadable frame file');
    }
  };

  /**
   * After a write to `name`: waits until `stableMs` pass with no further write and no size change, then
   * takes it. One wait per name; writes during it push it back. A file gone meanwhile is forgotten.
   */
  const settle = async (name: string) => {
    const count = (writes.get(name) ?? 0) + 1;
    writes.set(name, count);
    if (settling.has(name)) return;
    settling.add(name);
    let seen = count;
    let last: Stats | null = null;
    let quietSince = performance.now();
    let gone = false;
    while (!abort.signal.aborted) {
      await delay(pollMs);
      const current = await stat(join(dir, name)).catch(() => null);
      gone = !current?.isFile();
      if (!current || gone) break;
      if (writes.get(name) !== seen || current.size !== last?.size) {
        seen = writes.get(name)!;
        quietSince = performance.now();
      }
      last = current;
      if (performance.now() - quietSince >= stableMs) break;
    }
    // Only this wait's own mark: a write during `take` below starts the next wait.
    settling.delete(name);
    if (gone) taken.delete(name);
    else if (last && !abort.signal.aborted) await take(name, last, seen);
    // Nothing written since: forget the count (one entry per name ever seen would only grow).
    if (!settling.has(name) && writes.get(name) === seen) writes.delete(name);
  };

  const watchFolder = async () => {
    const w = watch(dir, {
      ignoreInitial: true,
      depth: 0,
      ignored: (path: string) => path !== dir && TEMP_NAME.test(basename(path)),
    });
    watcher = w;
    // Raw events: every write, whatever it did to size and mtime (see the rule above).
    w.on('raw', (_event: string, name: string | null) => {
      if (watching && watcher === w && name && isFrameFileName(basename(name))) void settle(basename(name));
    });
    w.on('error', (err) => log.error({ err: (err as Error).message, dir }, 'folder watch error'));
    await new Promise<void>((resolve) => w.once('ready', () => resolve()));
    watching = watcher === w;
  };

  /**
   * chokidar's watch dies with its folder (removed, unmounted) and never follows a new folder made at
   * the same path: the source stayed "connected" and took no file again. So the folder is checked
   * every `folderCheckMs`: gone → not connected; back (or another one there) → watched afresh. Only
   * files written after that count; what the folder already holds is not a live frame.
   */
  const followFolder = async () => {
    const id = await folderId(dir);
    if (id === watchedId) return;
    const had = watcher;
    watcher = null;
    watching = false;
    await had?.close();
    watchedId = id;
    if (id) await watchFolder();
    if (had && !id) log.warn({ dir }, 'drop folder gone; waiting for it');
    else if (had) log.warn({ dir }, 'drop folder replaced; watching the new one');
    else if (!id) log.warn({ dir }, 'drop folder not there; waiting for it');
    else if (started) log.info({ dir }, 'drop folder back; watching it');
  };

  return {
    async start() {
      if (loop) return;
      await followFolder();
      started = true;
      loop = (async () => {
        while (!abort.signal.aborted) {
          await delay(folderCheckMs, undefined, { signal: abort.signal }).catch(() => {});
          if (!abort.signal.aborted) await followFolder();
        }
      })();
    },
    async stop() {
      abort.abort();
      await loop;
      watching = false;
      await watcher?.close();
      watcher = null;
    },
    onFrame: listeners.add,
    identity: () => null,
    /** How many file names the source remembers (for tests: both stay within `rememberNames`). */
    rememberedNames: () => ({ taken: taken.size, sidecars: usedSidecars.size }),
    status: () => ({
      kind: 'folder',
      connected: watching,
      frames,
      droppedFrames: 0,
      lastFrameAt,
      detail: { dir, rejectedFiles: rejected, lastFile },
    }),
  };
}
