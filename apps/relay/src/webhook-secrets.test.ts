import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { fakeClock } from './test-clock.ts';
import { createSecretsSource } from './webhook-secrets.ts';

/**
 * Secrets Manager cannot run here, so a local endpoint speaks its JSON 1.1 protocol for GetSecretValue;
 * the real SDK client signs and sends real requests to it.
 */
async function startSecretsEndpoint(values: (string | undefined)[]) {
  const calls: { target: string | undefined; body: { SecretId?: string } }[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => {
      raw += c;
    });
    req.on('end', () => {
      calls.push({ target: req.headers['x-amz-target'] as string | undefined, body: JSON.parse(raw) });
      const value = values[Math.min(calls.length - 1, values.length - 1)];
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(
        JSON.stringify({
          ARN: 'arn:aws:secretsmanager:ca-central-1:1:secret:cti',
          Name: 'cti',
          SecretString: value,
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = new SecretsManagerClient({
    region: 'ca-central-1',
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  return { calls, client, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test('inline secrets are used as given when no secret id is configured', async () => {
  const source = createSecretsSource({ inline: ['a', 'b'], secretId: undefined, clock: fakeClock().clock });
  assert.deepEqual(await source.get(), ['a', 'b']);
});

const [FIRST, OLD, SECOND] = ['first-secret-0123456', 'old-secret-01234567', 'second-secret-012345'];

test('Secrets Manager values are cached for the TTL, then re-read (rotation)', async (t) => {
  const endpoint = await startSecretsEndpoint([`${FIRST},${OLD}`, `${SECOND},${FIRST}`]);
  t.after(() => {
    endpoint.client.destroy();
    return endpoint.close();
  });
  const { clock } = fakeClock();
  const source = createSecretsSource({
    inline: [],
    secretId: 'cti/webhook-secrets',
    secretsManager: endpoint.client,
    clock,
    ttlMs: 60_000,
  });
  assert.deepEqual(await source.get(), [FIRST, OLD]);
  assert.deepEqual(await source.get(), [FIRST, OLD]);
  assert.equal(endpoint.calls.length, 1);
  assert.equal(endpoint.calls[0]?.target, 'secretsmanager.GetSecretValue');
  assert.equal(endpoint.calls[0]?.body.SecretId, 'cti/webhook-secrets');
  await clock.sleep(60_000);
  assert.deepEqual(await source.get(), [SECOND, FIRST]);
  assert.equal(endpoint.calls.length, 2);
});

test('an empty or binary-only secret is refused with the setting named', async (t) => {
  const endpoint = await startSecretsEndpoint([' , ', undefined]);
  t.after(() => {
    endpoint.client.destroy();
    return endpoint.close();
  });
  const make = () =>
    createSecretsSource({
      inline: [],
      secretId: 'cti/x',
      secretsManager: endpoint.client,
      clock: fakeClock().clock,
    });
  await assert.rejects(
    make().get(),
    /secret cti\/x \(CTI_WEBHOOK_SECRETS_ID\): comma-separated secrets must not be empty/,
  );
  await assert.rejects(make().get(), /has no SecretString/);
});
