// The spawned `cti-agent run` with an emulated ear-tag reader on a socat PTY pair: a tag read at the
// chute lands in the next capture's meta.json in the outbox, and in that capture only.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { validateMeta } from '@cti/contracts';
import { waitFor } from '@cti/testkit';
import { SerialPort } from 'serialport';
import {
  fetchAgentStatus,
  runAgentCommand,
  type Spawned,
  startAgent,
} from '../test-support/fleet-processes.ts';
import { createPtyPair, type PtyPair } from '../test-support/pty-pair.ts';

let dir: string;
let pty: PtyPair;
let agent: Spawned;
let reader: SerialPort;
let configFile: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cti-eid-agent-'));
  pty = await createPtyPair(dir, 'eid');
  configFile = join(dir, 'agent.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      device_code: 'dev-chute',
      data_dir: join(dir, 'data'),
      source: { kind: 'simulated', fps: 10, width: 256, height: 192, pattern: 'synthetic' },
      hint: { enabled: false },
      http: { port: 0 },
      upload: { bucket: 'cti-test', enabled: false },
      outbox: { min_free_mb: 1 },
      eid_reader: { path: pty.hostPath, window_s: 120 },
    }),
  );
  agent = await startAgent(configFile, join(dir, 'data'));
  reader = new SerialPort({ path: pty.devicePath, baudRate: 9600, autoOpen: false });
  await new Promise<void>((resolve, reject) => reader.open((e) => (e ? reject(e) : resolve())));
});
after(async () => {
  await new Promise<void>((resolve) => (reader?.isOpen ? reader.close(() => resolve()) : resolve()));
  await agent?.stop();
  await pty?.close();
  rmSync(dir, { recursive: true, force: true });
});

const status = () => fetchAgentStatus(join(dir, 'data'));

async function capture() {
  const { code, stdout } = await runAgentCommand(configFile, ['capture']);
  assert.equal(code, 0, stdout);
  const { captureId } = JSON.parse(stdout) as { captureId: string };
  const meta = JSON.parse(readFileSync(join(dir, 'data', 'spool', captureId, 'meta.json'), 'utf8'));
  assert.ok(validateMeta(meta).ok);
  return meta as { animal?: { eid: string; read_at: string } };
}

test('a tag read at the chute goes into the next capture only', { timeout: 60_000 }, async () => {
  await waitFor(async () => (await status()).ear_tag_reader?.connected === true, {
    what: 'reader connected',
  });
  const before = Date.now();
  reader.write('garbage ~~\r\nLA 982 000123456789\r\n');
  await waitFor(async () => (await status()).ear_tag_reader.pending?.eid === '982000123456789', {
    what: 'tag pending',
  });
  const first = await capture();
  assert.equal(first.animal?.eid, '982000123456789');
  const readAt = Date.parse(first.animal!.read_at);
  assert.ok(readAt >= before - 1000 && readAt <= Date.now(), first.animal!.read_at);
  assert.equal((await capture()).animal, undefined, 'consumed: the next animal does not inherit it');
  const s = JSON.parse((await runAgentCommand(configFile, ['status'])).stdout); // what an operator sees
  assert.equal(s.ear_tag_reader.reads, 1);
  assert.equal(s.ear_tag_reader.ignored_lines, 1);
  assert.equal(s.ear_tag_reader.pending, null);
});

test('two reads before one press: the capture carries the second', { timeout: 60_000 }, async () => {
  reader.write('982000111111111\r\n');
  await waitFor(async () => (await status()).ear_tag_reader.pending?.eid === '982000111111111', {
    what: 'first tag',
  });
  reader.write('982000222222222\r\n');
  await waitFor(async () => (await status()).ear_tag_reader.pending?.eid === '982000222222222', {
    what: 'second tag',
  });
  assert.equal((await capture()).animal?.eid, '982000222222222');
  assert.match(agent.output(), /ear tag 982000222222222 replaces unused tag 982000111111111/);
});
