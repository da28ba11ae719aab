import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CreateOutboxOptions, createOutbox } from '../outbox/outbox.ts';
import type { CommitCaptureInput } from '../outbox/outbox-types.ts';
import { RESERVE_FILE } from '../outbox/space-reserve.ts';

/** Deterministic pseudo-random bytes (xorshift) so a harness process and its test agree on content. */
export function fakeBytes(seed: number, size: number): Buffer {
  const out = Buffer.alloc(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** Capture number `n`: an image, a mask and a meta.json, all content-derived from `n`. */
export function fakeCapture(
  n: number,
  { imageBytes = 20_000, deviceCode = 'dev-test', withMask = true } = {},
): CommitCaptureInput {
  const captureId = `cap_t${String(n).padStart(5, '0')}`;
  const capturedAt = new Date(Date.UTC(2025, 8, 9, 14, 0, n % 60)).toISOString();
  const files = [{ name: 'image.png', data: fakeBytes(n + 1, imageBytes) }];
  if (withMask) files.push({ name: 'mask.png', data: fakeBytes(n + 100_000, Math.ceil(imageBytes / 8)) });
  const meta = {
    meta_version: '1.0.0',
    capture_id: captureId,
    device_code: deviceCode,
    captured_at: capturedAt,
  };
  files.push({ name: 'meta.json', data: Buffer.from(JSON.stringify(meta)) });
  return { captureId, deviceCode, capturedAt, files };
}

/** A fresh temp directory with `db` and `spool` paths; `remove()` deletes it. */
export function outboxTempDir(prefix = 'outbox-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    dbPath: join(dir, 'outbox.db'),
    spoolDir: join(dir, 'spool'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** An outbox with its database and spool in `dir` (a test volume): `outbox.db` and `spool/`. */
export function outboxIn(dir: string, options: Omit<CreateOutboxOptions, 'dbPath' | 'spoolDir'> = {}) {
  return createOutbox({ dbPath: join(dir, 'outbox.db'), spoolDir: join(dir, 'spool'), ...options });
}

/**
 * Writes to `dataDir` (made here) an outbox as a running service leaves it when the card fails under
 * it: captures 1–3 pending and 4 quarantined, all still in the `-wal` — copied while the connection
 * is open, so no checkpoint folded them into outbox.db — and no `-shm`; their spool files beside it.
 */
export async function outboxWithWalIn(dataDir: string): Promise<void> {
  const t = outboxTempDir('cti-outbox-wal-src-');
  try {
    const outbox = createOutbox({ dbPath: t.dbPath, spoolDir: t.spoolDir });
    for (const n of [1, 2, 3, 4]) await outbox.commitCapture(fakeCapture(n));
    outbox.store.quarantine('cap_t00004', 'image.png', 'image.png: IntegrityError', Date.now());
    mkdirSync(dataDir);
    for (const name of ['outbox.db', 'outbox.db-wal']) cpSync(join(t.dir, name), join(dataDir, name));
    cpSync(t.spoolDir, join(dataDir, 'spool'), { recursive: true });
    outbox.close();
    if (statSync(join(dataDir, 'outbox.db-wal')).size === 0) throw new Error('the -wal is empty');
  } finally {
    t.remove();
  }
}

/**
 * Deletes the outbox's space reserve in `dataDir` (outbox/space-reserve.ts), as if the agent had
 * already spent it: a volume filled after this leaves the outbox nothing it can free.
 */
export function spendSpaceReserve(dataDir: string): void {
  rmSync(join(dataDir, RESERVE_FILE), { force: true });
}
