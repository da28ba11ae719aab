import { OPERATOR_ID_PATTERN } from '@cti/contracts';
import { Hono } from 'hono';
import type { Registry } from 'prom-client';
import { type Agent, CaptureBusyError } from '../agent.ts';

// meta.json's operator_id: 1-128 characters (code points, as the schema counts them), not only white
// space (OPERATOR_ID_PATTERN, as agent.json's operator_id), and no U+0000, which the server refuses: a
// session operator with NUL made every capture after it a 422 at ingest.
const NOT_BLANK = new RegExp(OPERATOR_ID_PATTERN, 'u');
const OPERATOR = {
  test: (v: string) =>
    !v.includes('\u0000') && NOT_BLANK.test(v) && [...v].length >= 1 && [...v].length <= 128,
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The agent's local HTTP API on 127.0.0.1 (never exposed): `cti-agent capture|status` and the
 * technician's status page talk to the running service through it.
 */
export function createLocalApi({
  agent,
  metrics,
  statusExtras = () => ({}),
}: {
  agent: Agent;
  metrics?: Registry;
  /** Parts built around the agent (the heartbeat) that `status` shows too. */
  statusExtras?: () => Record<string, unknown>;
}) {
  const app = new Hono();
  app.get('/healthz', (c) => {
    const h = agent.health();
    return c.json(h, h.ok ? 200 : 503);
  });
  app.get('/status', (c) => c.json({ ...agent.status(), ...statusExtras() }));
  app.post('/capture', async (c) => {
    let result: Awaited<ReturnType<Agent['capture']>>;
    try {
      result = await agent.capture(performance.now(), 'http');
    } catch (err) {
      if (!(err instanceof CaptureBusyError)) throw err;
      c.header('Retry-After', String(err.retryAfterS));
      return c.json({ status: 'busy', error: err.message, limit: err.limit }, 429);
    }
    const { meta: _meta, ...rest } = result as typeof result & { meta?: unknown };
    return c.json(rest, result.status === 'captured' ? 201 : 409);
  });
  app.post('/uploads/retry', (c) => {
    agent.retryUploads();
    return c.json({ ok: true });
  });
  app.put('/session', async (c) => {
    const body = (await c.req.json().catch(() => null)) as {
      operator_id?: unknown;
      farm_id?: unknown;
    } | null;
    const ok = (v: unknown, re: { test(v: string): boolean }) =>
      v === undefined || v === null || (typeof v === 'string' && re.test(v));
    if (!body || !ok(body.operator_id, OPERATOR) || !ok(body.farm_id, UUID)) {
      return c.json(
        {
          error:
            'body must be { "operator_id"?: string of 1-128 characters, not only spaces, without NUL | null, "farm_id"?: uuid | null }',
        },
        400,
      );
    }
    const next: { operatorId?: string | null; farmId?: string | null } = {};
    if (body.operator_id !== undefined) next.operatorId = body.operator_id as string | null;
    if (body.farm_id !== undefined) next.farmId = body.farm_id as string | null;
    return c.json(agent.setSession(next));
  });
  app.get('/metrics', async (c) => {
    if (!metrics) return c.text('', 404);
    return c.text(await metrics.metrics(), 200, { 'content-type': metrics.contentType });
  });
  app.onError((err, c) => c.json({ error: err.message }, 500));
  return app;
}
