import assert from 'node:assert/strict';
import { addDeviceKey } from '../../devices/device-keys.ts';
import { heartbeatBody, signedHeartbeat } from '../../devices/test-heartbeats.ts';
import { useDashboardApp } from './test-dashboard-seed.ts';
import { type PageClient, pageClient, strip, textById } from './test-page-client.ts';

/**
 * The dashboard's world (useDashboardApp) with a key for its device dev-a, and what the fleet tests ask of
 * it: `beat` sends dev-a's heartbeat now, signed like the agent's (`patch` merged one level deep);
 * `fleetRow` is dev-a's row of the fleet page, `deviceHealth` its device page's health section and
 * `latest` its `GET /devices/{id}/health` latest snapshot — each as the technician sees it.
 *
 * @example const { ctx, beat, fleetRow } = useDeviceHeartbeats(); await beat({ disk: { … } });
 */
export function useDeviceHeartbeats() {
  const secrets: Record<string, string> = {};
  const { ctx, w } = useDashboardApp(async (sql) => {
    secrets['dev-a'] = (await addDeviceKey(sql, 'dev-a')).secret;
  });

  async function beat(patch: Parameters<typeof heartbeatBody>[2]): Promise<void> {
    const at = Date.now();
    const init = signedHeartbeat(secrets['dev-a']!, heartbeatBody('dev-a', new Date(at), patch), {
      timestamp: Math.floor(at / 1000),
      device: 'dev-a',
    });
    const res = await ctx.server.app.request('/devices/heartbeat', init);
    assert.equal(res.status, 200, await res.text());
  }

  const as = (who: keyof typeof w.users): Promise<PageClient> =>
    pageClient(ctx.server.app, w.users[who].email);
  const fleetRow = async () => {
    const { html } = await (await as('technician')).get('/fleet');
    return strip(html.split('<tr').find((row) => row.includes('<strong>dev-a</strong>')) ?? '');
  };
  const deviceHealth = async () =>
    strip(textById((await (await as('technician')).get(`/fleet/${w.deviceA}`)).html, 'device-health') ?? '');
  async function latest() {
    const res = await (await as('technician')).api.request('GET', `/api/v1/devices/${w.deviceA}/health`);
    assert.equal(res.status, 200);
    // biome-ignore lint/suspicious/noExplicitAny: checked against the OpenAPI document by the client
    return (res.body as any).latest;
  }

  return { ctx, w, beat, as, fleetRow, deviceHealth, latest };
}
