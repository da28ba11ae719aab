// Seeds the API benchmark's data with generate_series (no webhooks): FARMS farms with geofences, two
// devices per farm, N scans (one image asset each) spread evenly over the farms, 30 s apart, with GPS
// points inside their farm's geofence; a grading result for 90 % of them (status graded; 1/7 of them
// with fat thickness missing, as JSON null), ingested/graded events; users: one admin, one owner per
// farm, 20 technicians on 10 farms each. Ids are md5-derived, so the bench can name rows directly.
import type { Sql } from 'postgres';
import { hashPassword } from '../src/auth/password-hash.ts';

export const BENCH_PASSWORD = 'bench-password-field-1';
export const TECHNICIANS = 20;
export const FARMS_PER_TECHNICIAN = 10;
const BATCH = 250_000;

export const farmId = (f: number) => `md5('farm' || ${f})::uuid`;

async function timed(label: string, run: () => Promise<unknown>) {
  const t = performance.now();
  await run();
  console.log(`  seeded ${label} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}

/** Seeds an empty migrated database; returns false when it already holds this seed (re-used). */
export async function seedBench(
  sql: Sql,
  { scans, farms }: { scans: number; farms: number },
): Promise<boolean> {
  await sql`CREATE TABLE IF NOT EXISTS bench_seed (scans int NOT NULL, farms int NOT NULL)`;
  const [done] = await sql<{ scans: number; farms: number }[]>`SELECT scans, farms FROM bench_seed`;
  if (done && done.scans === scans && done.farms === farms) return false;
  if (done)
    throw new Error(
      `the bench database holds another seed (${done.scans} scans, ${done.farms} farms); use a fresh one`,
    );
  const devices = farms * 2;
  const hash = await hashPassword(BENCH_PASSWORD, { log2N: 10, r: 8, p: 1 });
  await timed(`${farms} farms, ${devices} devices, users`, async () => {
    await sql`
      INSERT INTO farms (id, name, geofence, centroid)
      SELECT md5('farm' || f)::uuid, 'Bench farm ' || f, ST_MakeEnvelope(lon - 0.05, lat - 0.05, lon + 0.05, lat + 0.05, 4326),
             ST_SetSRID(ST_MakePoint(lon, lat), 4326)
        FROM (SELECT f, -100 + (f % 20) * 0.5 AS lon, 40 + (f / 20) * 0.5 AS lat FROM generate_series(0, ${farms - 1}) f) x`;
    await sql`
      INSERT INTO devices (id, device_code, farm_id, last_seen_at, last_upload_at, captures_count)
      SELECT md5('device' || d)::uuid, 'bench-' || d, md5('farm' || (d % ${farms}))::uuid, now(), now(), ${scans / devices}
        FROM generate_series(0, ${devices - 1}) d`;
    await sql`INSERT INTO users (id, email, password_hash) VALUES (md5('admin')::uuid, 'admin@bench.example', ${hash})`;
    await sql`
      INSERT INTO users (id, email, password_hash)
      SELECT md5('farmer' || f)::uuid, 'farmer' || f || '@bench.example', ${hash} FROM generate_series(0, ${farms - 1}) f
      UNION ALL
      SELECT md5('tech' || t)::uuid, 'tech' || t || '@bench.example', ${hash} FROM generate_series(0, ${TECHNICIANS - 1}) t`;
    await sql`
      INSERT INTO user_roles (user_id, role_id)
      SELECT u.id, r.id FROM users u JOIN roles r ON r.name = CASE
        WHEN u.email LIKE 'admin%' THEN 'admin' WHEN u.email LIKE 'farmer%' THEN 'farmer' ELSE 'technician' END`;
    await sql`
      INSERT INTO user_farms (user_id, farm_id, role, is_owner)
      SELECT md5('farmer' || f)::uuid, md5('farm' || f)::uuid, 'farmer', true FROM generate_series(0, ${farms - 1}) f
      UNION ALL
      SELECT md5('tech' || t)::uuid, md5('farm' || ((t * ${FARMS_PER_TECHNICIAN} + k) % ${farms}))::uuid, 'technician', false
        FROM generate_series(0, ${TECHNICIANS - 1}) t, generate_series(0, ${FARMS_PER_TECHNICIAN - 1}) k`;
  });
  for (let from = 1; from <= scans; from += BATCH) {
    const to = Math.min(scans, from + BATCH - 1);
    await timed(`scans ${from}–${to} (assets, scans, results, events)`, () =>
      sql.begin(async (tx) => {
        await tx`
          INSERT INTO assets (id, bucket, object_key, sha256, size_bytes, mime_type)
          SELECT md5('asset' || i)::uuid, 'cti-bench', 'raw/bench-' || (i % ${devices}) || '/2025/01/01/cap_' || i || '/image.png',
                 md5('a' || i) || md5('b' || i), 150000, 'image/png'
            FROM generate_series(${from}::int, ${to}::int) i`;
        await tx`
          INSERT INTO scans (id, scan_id, capture_id, ingest_key, device_id, farm_id, gps, captured_at, status, image_asset_id, created_at)
          SELECT md5('scan' || i)::uuid, 'bench-' || (i % ${devices}) || '.cap_' || i, 'cap_' || i,
                 's3://cti-bench/raw/bench-' || (i % ${devices}) || '/2025/01/01/cap_' || i || '/',
                 md5('device' || (i % ${devices}))::uuid, md5('farm' || (i % ${farms}))::uuid,
                 ST_SetSRID(ST_MakePoint(-100 + ((i % ${farms}) % 20) * 0.5 + ((i::bigint * 7919) % 800 - 400) / 10000.0,
                                         40 + ((i % ${farms}) / 20) * 0.5 + ((i::bigint * 104729) % 800 - 400) / 10000.0), 4326),
                 now() - i * interval '30 seconds',
                 (CASE WHEN i % 50 = 0 THEN 'error' WHEN i % 10 = 0 THEN 'ingested' ELSE 'graded' END)::scan_status,
                 md5('asset' || i)::uuid, now() - i * interval '30 seconds' + interval '2 minutes'
            FROM generate_series(${from}::int, ${to}::int) i`;
        await tx`
          INSERT INTO grading_results (scan_id, model_name, model_version, inference_sha256, confidence, confidence_breakdown,
                                       features_used, grade, grade_reasons, created_at)
          SELECT md5('scan' || i)::uuid, 'ribeye-seg', '2.3.0', repeat('d', 64), 0.5 + (i % 50) / 100.0,
                 '{"mask_iou": 0.84, "edge_quality": 0.78, "snr": 18.3}',
                 jsonb_build_object('rea_cm2', 60 + (i % 40), 'fat_thickness_mm', CASE WHEN i % 7 = 0 THEN NULL ELSE 3 + (i % 9) END,
                                    'pixel_spacing_mm', 0.2),
                 CASE WHEN i % 20 = 3 THEN 'R' WHEN i % 5 = 1 THEN 'M' ELSE 'A' END, '{}',
                 now() - i * interval '30 seconds' + interval '5 minutes'
            FROM generate_series(${from}::int, ${to}::int) i WHERE i % 10 <> 0`;
        await tx`
          INSERT INTO scan_events (scan_id, event, meta, created_at)
          SELECT md5('scan' || i)::uuid, e.event, '{"source":"bench"}', now() - i * interval '30 seconds' + e.after
            FROM generate_series(${from}::int, ${to}::int) i
            CROSS JOIN (VALUES ('ingested', interval '2 minutes'), ('graded', interval '5 minutes')) e(event, after)
           WHERE e.event = 'ingested' OR i % 10 <> 0`;
      }),
    );
  }
  await timed('ANALYZE', () => sql`ANALYZE`);
  await sql`INSERT INTO bench_seed (scans, farms) VALUES (${scans}, ${farms})`;
  return true;
}
