// Prints how fast the hot-path contract checks run (the server does all three per webhook).
// Usage: pnpm --filter @cti/contracts bench   (figures only; nothing asserts on them)
import { signWebhook, validateMeta, validateWebhookBody, verifyWebhookSignature } from '../src/index.ts';
import { exampleMeta, exampleWebhookBody } from '../src/testing.ts';

function bench(name: string, fn: () => unknown, iterations = 50_000): void {
  for (let i = 0; i < 1_000; i++) fn(); // warm up the JIT
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn();
  const ns = Number(process.hrtime.bigint() - start) / iterations;
  console.log(
    `${name.padEnd(40)} ${(ns / 1000).toFixed(2).padStart(8)} µs/op  ${Math.round(1e9 / ns)
      .toLocaleString('en')
      .padStart(10)} ops/s`,
  );
}

const meta = exampleMeta();
const body = exampleWebhookBody();
const raw = JSON.stringify(body);
const headers = signWebhook({ body: raw, secret: 'bench-secret', timestamp: 1_700_000_000 });
const badBody = exampleWebhookBody({ bucket: 'X', meta_json: exampleMeta({ gps: { lat: 91, lon: 0 } }) });

bench('validateMeta (valid)', () => validateMeta(meta));
bench('validateWebhookBody (valid)', () => validateWebhookBody(body));
bench('validateWebhookBody (2 problems)', () => validateWebhookBody(badBody));
bench('JSON.parse + validateWebhookBody', () => validateWebhookBody(JSON.parse(raw)));
bench('verifyWebhookSignature (1 secret)', () =>
  verifyWebhookSignature({
    body: raw,
    timestamp: headers['X-CTI-Timestamp'],
    signature: headers['X-CTI-Signature'],
    secrets: ['bench-secret'],
    now: 1_700_000_000,
  }),
);
bench('verifyWebhookSignature (2 secrets)', () =>
  verifyWebhookSignature({
    body: raw,
    timestamp: headers['X-CTI-Timestamp'],
    signature: headers['X-CTI-Signature'],
    secrets: ['old', 'bench-secret'],
    now: 1_700_000_000,
  }),
);
