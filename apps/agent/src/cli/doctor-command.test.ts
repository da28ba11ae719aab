import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../config/agent-config.ts';
import { scratchDir, writeDeviceSecret } from '../test-support/scratch.ts';
import { writeAgentConfig } from '../test-support/spawned-agent.ts';
import { doctorCommand } from './commands.ts';

// `cti-agent doctor` against a stand-in for the running agent's local API (a real HTTP server on the
// config's http.port) that counts the questions it is asked: the probe, the GPIO lines and the
// heartbeat are reported as the service sees them from one `GET /status`, so an agent that hangs costs
// doctor one timeout there, not one per check (and is called hung, not "not running").

const cleanups: Array<() => unknown> = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

const LED_DOWN = {
  up: false,
  down_since: '2026-12-08T00:00:00.000Z',
  error:
    'sysfs GPIO 598 fails with an I/O error (EIO: i/o error, write). Fix: check the HAT and its connector',
  failed_attempts: 3,
  next_attempt_in_s: 20,
};

async function agentStandIn(answer: 'status' | 'hang') {
  const asked: string[] = [];
  const server = createServer((req, res) => {
    asked.push(`${req.method} ${req.url}`);
    if (answer === 'hang') return; // never answers: doctor's 3 s timeout
    if (req.url === '/status') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          source: { connected: true, frames: 420, droppedFrames: 0 },
          capture_button: null,
          status_signals: { led: LED_DOWN, buzzer: null },
          heartbeat: { enabled: true, last: null },
        }),
      );
    } else res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => server.closeAllConnections());
  cleanups.push(() => server.close());
  return { port: (server.address() as AddressInfo).port, asked };
}

function doctorConfig(port: number) {
  const dir = scratchDir(cleanups, 'cti-doctor-once-');
  const file = writeAgentConfig(join(dir, 'agent.json'), {
    dataDir: join(dir, 'data'),
    bucket: 'cti-test',
    endpoint: 'http://127.0.0.1:9',
    minFreeMb: 1,
    extra: {
      http: { host: '127.0.0.1', port },
      led: { bcm: 27 },
      heartbeat: { server_url: 'http://127.0.0.1:9', secret_file: writeDeviceSecret(dir) },
      hint: { enabled: false },
    },
  });
  return loadConfig(file, { ...process.env, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x' });
}

async function doctor(port: number): Promise<string> {
  const out: string[] = [];
  const write = (s: string) => {
    out.push(s);
    return true;
  };
  const io = { stdout: { write }, stderr: { write } } as unknown as Parameters<typeof doctorCommand>[1];
  await doctorCommand(doctorConfig(port), io);
  return out.join('');
}

test('doctor asks the running agent for its status once and reports the probe, the LED and the heartbeat from that answer', async () => {
  const agent = await agentStandIn('status');
  const out = await doctor(agent.port);
  assert.deepEqual(
    agent.asked.filter((q) => q === 'GET /status'),
    ['GET /status'],
  );
  assert.match(out, /\[ OK \] probe +service reports simulated source connected, 420 frames, 0 dropped/);
  assert.match(
    out,
    /\[FAIL\] gpio led .*down since 2026-12-08T00:00:00\.000Z — sysfs GPIO 598 fails with an I\/O error/,
  );
  assert.match(out, /\[WARN\] heartbeat +enabled; none sent yet/);
});

test('an agent that hangs costs one status timeout; the checks say it is running but not answering, not that it is not running', async () => {
  const agent = await agentStandIn('hang');
  const out = await doctor(agent.port);
  assert.deepEqual(
    agent.asked.filter((q) => q === 'GET /status'),
    ['GET /status'],
  );
  // Running but hung is not "not running": the lines are checked offline and the reason says why.
  assert.match(
    out,
    /gpio led .*checked by doctor itself: the running agent did not answer within 3 s \(hung\?\)/,
  );
  assert.match(
    out,
    /\[FAIL\] heartbeat +secret OK; the running agent did not answer within 3 s \(hung\?\), so its heartbeat is unknown/,
  );
  assert.match(
    out,
    /\[FAIL\] service +running but not answering \(hung\?\)\n +fix: see `journalctl -u cti-agent`/,
  );
});
