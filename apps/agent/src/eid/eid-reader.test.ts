import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { EID_LINE_PATTERN } from '@cti/contracts';
import { waitFor } from '@cti/testkit';
import { SerialPort } from 'serialport';
import { createPtyPair, type PtyPair } from '../test-support/pty-pair.ts';
import { compileEidPattern } from './eid-pattern.ts';
import { createEarTagReader, type EarTagReader } from './eid-reader.ts';

// An emulated ear-tag reader on a socat PTY pair writes lines the way real readers do: several line
// formats and endings, garbage, a line split across writes; then it is unplugged and plugged back.

let dir: string;
let pty: PtyPair;
let reader: EarTagReader;
const mono = 0;
const reads: [string, string][] = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cti-eid-'));
  pty = await createPtyPair(dir, 'eid');
  reader = createEarTagReader({
    path: pty.hostPath,
    baudRate: 9600,
    pattern: compileEidPattern(EID_LINE_PATTERN),
    windowMs: 120_000,
    onRead: (eid, outcome) => reads.push([eid, outcome]),
    now: () => mono,
  });
  await reader.start();
});
after(async () => {
  await reader?.stop();
  await pty?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function openDevice(): Promise<SerialPort> {
  const device = new SerialPort({ path: pty.devicePath, baudRate: 9600, autoOpen: false });
  await new Promise<void>((resolve, reject) => device.open((e) => (e ? reject(e) : resolve())));
  return device;
}
const write = (device: SerialPort, text: string) =>
  new Promise<void>((resolve, reject) =>
    device.write(text, (e) => (e ? reject(e) : device.drain(() => resolve()))),
  );
const close = (device: SerialPort) => new Promise<void>((resolve) => device.close(() => resolve()));

test('tags in several formats are read; garbage lines are ignored and counted', {
  timeout: 30_000,
}, async () => {
  const device = await openDevice();
  try {
    await waitFor(() => reader.connected(), { what: 'reader port open' });
    await write(device, 'POWER ON v2.1\r\n\u0001\u00fe\u0013%%\r\n982 000123456789\r\n');
    await waitFor(() => reads.length === 1, { what: 'first tag' });
    await write(device, 'LA 982000111111111\r'); // CR only
    await write(device, '$98200022');
    await write(device, '2222222#\n'); // one line in two writes, LF only
    await write(device, '98200012345678\r\n982000333333333 FDX-B\r\n982000333333333 FDX-B\r\n');
    await waitFor(() => reads.length === 5, { what: 'five reads' });
    assert.deepEqual(reads, [
      ['982000123456789', 'new'],
      ['982000111111111', 'replaced'],
      ['982000222222222', 'replaced'],
      ['982000333333333', 'replaced'],
      ['982000333333333', 'repeat'],
    ]);
    const status = reader.status();
    assert.equal(status.connected, true);
    assert.equal(status.ignored_lines, 3, 'banner, garbage, 14 digits');
    assert.equal(status.reads, 5);
    assert.equal(reader.forPress(mono)?.eid, '982000333333333');
  } finally {
    await close(device);
  }
});

test('unplugged and plugged back: the reader reconnects and reads again', { timeout: 30_000 }, async () => {
  await pty.unplug();
  await waitFor(() => !reader.connected(), { what: 'reader sees the unplug' });
  await pty.plug();
  await waitFor(() => reader.connected(), { what: 'reader reconnects', timeoutMs: 15_000 });
  const device = await openDevice();
  try {
    await write(device, '982 000444444444\r\n');
    await waitFor(() => reads.at(-1)?.[0] === '982000444444444', { what: 'tag after reconnect' });
  } finally {
    await close(device);
  }
});
