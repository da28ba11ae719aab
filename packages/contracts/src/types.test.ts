// Type-level checks: MetaJson / WebhookBody are derived from the schemas with json-schema-to-ts, so
// they cannot drift; these assertions make sure the derivation keeps the intended shape (a schema
// edit that, say, makes captured_at optional or drops null from farm_id fails `pnpm typecheck`).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MetaJson, ValidationResult, WebhookBody, WebhookObjectDetail } from './index.ts';
import { exampleMeta, exampleWebhookBody } from './testing.ts';

type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type IsOptional<T, K extends keyof T> = object extends Pick<T, K> ? true : false;
function expectType<T extends true>(): T | undefined {
  return undefined;
}

// Required meta fields: present and non-null.
expectType<Equals<MetaJson['meta_version'], string>>();
expectType<Equals<MetaJson['captured_at'], string>>();
expectType<Equals<MetaJson['image_sha256'], string>>();
expectType<Equals<MetaJson['files']['image_relpath'], string>>();
expectType<Equals<IsOptional<MetaJson, 'device_code'>, false>>();
expectType<Equals<IsOptional<MetaJson, 'capture_id'>, false>>();
expectType<Equals<IsOptional<MetaJson, 'files'>, false>>();
// Optional and nullable ones.
expectType<Equals<IsOptional<MetaJson, 'farm_id'>, true>>();
expectType<Equals<NonNullable<MetaJson['farm_id']> | null, string | null>>();
expectType<Equals<Exclude<MetaJson['mask_sha256'], undefined>, string | null>>();
expectType<Equals<Exclude<MetaJson['files']['mask_relpath'], undefined>, string | null>>();
expectType<Equals<NonNullable<MetaJson['gps']>['lat'], number>>();
expectType<Equals<Exclude<NonNullable<MetaJson['gps']>['accuracy_m'], undefined>, number>>();
expectType<Equals<NonNullable<MetaJson['clock']>['synced'], boolean>>();
expectType<
  Equals<Exclude<NonNullable<MetaJson['inference_summary']>['ribeye_bbox'], undefined>, number[] | null>
>();
expectType<Equals<IsOptional<MetaJson, 'animal'>, true>>();
expectType<Equals<NonNullable<MetaJson['animal']>['eid'], string>>();
expectType<Equals<NonNullable<MetaJson['animal']>['read_at'], string>>();
// Webhook body.
expectType<Equals<WebhookBody['objects'], string[]>>();
expectType<Equals<WebhookBody['meta_json']['captured_at'], string>>();
expectType<Equals<WebhookObjectDetail['sha256'], string | null>>();
expectType<Equals<WebhookObjectDetail['size_bytes'], number>>();
expectType<Equals<IsOptional<WebhookBody, 'object_details'>, true>>();

test('the example builders produce values of the derived types', () => {
  const meta: MetaJson = exampleMeta();
  const body: WebhookBody = exampleWebhookBody();
  // @ts-expect-error gps.lat must be a number
  const wrong: MetaJson = { ...meta, gps: { lat: '43.6', lon: 0 } };
  const result: ValidationResult<MetaJson> = { ok: true, value: meta };
  assert.equal(body.meta_json.capture_id, meta.capture_id);
  assert.ok(wrong && result.ok);
});
