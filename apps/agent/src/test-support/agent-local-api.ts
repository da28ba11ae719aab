import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { HeartbeatBody } from '@cti/contracts';
import { waitFor } from '@cti/testkit';
import type { SpawnedAgent } from './spawned-agent.ts';

/**
 * The running agent's local API (its port from the runtime file in `dataDir`), as `cti-agent status`
 * reads it; fails with the agent's output when it exits at start.
 */
export async function agentLocalApi(agent: SpawnedAgent, dataDir: string) {
  const runtime = join(dataDir, 'agent-http.json');
  let port = 0;
  await waitFor(
    () => {
      if (agent.exited()) return true;
      try {
        port = (JSON.parse(readFileSync(runtime, 'utf8')) as { port: number }).port;
        return true;
      } catch {
        return false;
      }
    },
    { what: 'the agent ready', timeoutMs: 60_000 },
  );
  assert.equal(agent.exited(), false, `the agent exited at start:\n${agent.output().slice(-4000)}`);
  const get = (path: string) => fetch(`http://127.0.0.1:${port}${path}`);
  return {
    get,
    // biome-ignore lint/suspicious/noExplicitAny: the status document, read field by field
    status: async (): Promise<any> => (await get('/status')).json(),
    post: (path: string) => fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST' }),
    /** One sample of `GET /metrics`: `metric('cti_agent_capture_button_up')`, labels included in the name. */
    metric: async (name: string) => {
      const text = await (await get('/metrics')).text();
      return text
        .split('\n')
        .find((l) => l.startsWith(`${name} `))
        ?.slice(name.length + 1);
    },
  };
}

/**
 * An HTTP server that accepts every heartbeat and keeps its body (signature checks are the e2e test's);
 * closed by `cleanups`.
 */
export async function heartbeatRecorder(cleanups: Array<() => unknown>) {
  const bodies: HeartbeatBody[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => {
      raw += c.toString();
    });
    req.on('end', () => {
      bodies.push(JSON.parse(raw) as HeartbeatBody);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ accepted: true, server_time_ms: Date.now() }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies };
}
