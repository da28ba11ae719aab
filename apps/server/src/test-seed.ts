// Test helper (excluded from the build): rows for API tests, written straight to the database.
import type { Sql } from 'postgres';
import { hashPassword } from './auth/password-hash.ts';
import type { RoleName } from './auth/roles.ts';

export const TEST_PASSWORD = 'pasture-gate-7-orange';
const CHEAP = { log2N: 10, r: 8, p: 1 };
let cachedHash: Promise<string> | undefined;

export type SeedUser = { id: string; email: string; password: string };

export async function seedUser(
  sql: Sql,
  email: string,
  roles: RoleName[],
  {
    farms = [] as { id: string; owner?: boolean; as?: 'farmer' | 'technician' }[],
    password = TEST_PASSWORD,
  } = {},
): Promise<SeedUser> {
  if (cachedHash === undefined) cachedHash = hashPassword(TEST_PASSWORD, CHEAP);
  const hash = password === TEST_PASSWORD ? await cachedHash : await hashPassword(password, CHEAP);
  const [user] = await sql<{ id: string }[]>`
    INSERT INTO users (email, full_name, password_hash) VALUES (${email}, ${email.split('@')[0]!}, ${hash}) RETURNING id`;
  await sql`INSERT INTO user_roles (user_id, role_id) SELECT ${user!.id}, id FROM roles WHERE name = ANY(${roles}::text[])`;
  for (const farm of farms) {
    for (const [role, owner] of seedLinks(roles, farm)) {
      await sql`INSERT INTO user_farms (user_id, farm_id, role, is_owner) VALUES (${user!.id}, ${farm.id}, ${role}, ${owner})`;
    }
  }
  return { id: user!.id, email, password };
}

/**
 * The links a seeded farm gets: `as` when given; else what migration 0016 made of such a link — a
 * technician link for a technician who is not a farmer, a technician link plus the owner's farmer link
 * for an owner holding both roles, a technician link for a non-owner holding both, else a farmer link.
 */
function seedLinks(
  roles: readonly RoleName[],
  farm: { owner?: boolean; as?: 'farmer' | 'technician' },
): ['farmer' | 'technician', boolean][] {
  const owner = farm.owner ?? false;
  if (farm.as) return [[farm.as, owner]];
  if (!roles.includes('technician')) return [['farmer', owner]];
  if (roles.includes('farmer') && owner)
    return [
      ['farmer', true],
      ['technician', false],
    ];
  return [['technician', false]];
}

/** A square geofence of `half` degrees around (lon, lat), as GeoJSON. */
export const squareAround = (lon: number, lat: number, half = 0.01) => ({
  type: 'Polygon',
  coordinates: [
    [
      [lon - half, lat - half],
      [lon + half, lat - half],
      [lon + half, lat + half],
      [lon - half, lat + half],
      [lon - half, lat - half],
    ],
  ],
});

export async function seedFarm(sql: Sql, name: string, { lon = -79.38, lat = 43.65 } = {}): Promise<string> {
  const [farm] = await sql<{ id: string }[]>`
    INSERT INTO farms (name, geofence, centroid)
    VALUES (${name}, ST_SetSRID(ST_GeomFromGeoJSON(${JSON.stringify(squareAround(lon, lat))}), 4326),
            ST_SetSRID(ST_MakePoint(${lon}, ${lat}), 4326))
    RETURNING id`;
  return farm!.id;
}

export async function seedDevice(sql: Sql, code: string, farmId: string | null = null): Promise<string> {
  const [d] = await sql<{ id: string }[]>`
    INSERT INTO devices (device_code, farm_id, last_seen_at, last_upload_at, captures_count)
    VALUES (${code}, ${farmId}, now(), now(), 0) RETURNING id`;
  return d!.id;
}

export type SeedScanOptions = {
  farmId: string | null;
  deviceId: string;
  capturedAt?: string | null;
  status?: 'uploaded' | 'ingested' | 'graded' | 'error';
  gps?: { lon: number; lat: number } | null;
  animalId?: string | null;
  image?: { bucket: string; key: string; sha256: string; size: number; mime?: string } | null;
  captureId?: string;
};

let scanCounter = 0;

export async function seedScan(sql: Sql, o: SeedScanOptions): Promise<string> {
  const n = ++scanCounter;
  const captureId = o.captureId ?? `cap_${1_800_000_000 + n}_${Math.random().toString(36).slice(2, 8)}`;
  let imageId: string | null = null;
  if (o.image) {
    const [a] = await sql<{ id: string }[]>`
      INSERT INTO assets (bucket, object_key, sha256, size_bytes, mime_type)
      VALUES (${o.image.bucket}, ${o.image.key}, ${o.image.sha256}, ${o.image.size}, ${o.image.mime ?? 'image/png'}) RETURNING id`;
    imageId = a!.id;
  }
  const gps = o.gps === undefined ? { lon: -79.38, lat: 43.65 } : o.gps;
  const [s] = await sql<{ id: string }[]>`
    INSERT INTO scans (scan_id, capture_id, ingest_key, device_id, farm_id, animal_id, gps, captured_at, status, image_asset_id)
    VALUES (${`dev.${captureId}`}, ${captureId}, ${`s3://b/raw/dev/2025/01/01/${captureId}/`}, ${o.deviceId}, ${o.farmId},
            ${o.animalId ?? null}, ${gps ? sql`ST_SetSRID(ST_MakePoint(${gps.lon}, ${gps.lat}), 4326)` : null},
            ${o.capturedAt === undefined ? new Date().toISOString() : o.capturedAt}, ${o.status ?? 'ingested'}, ${imageId})
    RETURNING id`;
  await sql`INSERT INTO scan_events (scan_id, event, meta) VALUES (${s!.id}, 'ingested', '{"source":"test"}')`;
  return s!.id;
}

export type SeedGrading = {
  grade?: 'A' | 'M' | 'R' | null;
  confidence?: number;
  features?: Record<string, unknown>;
  createdBy?: string | null;
  modelName?: string;
  createdAt?: string;
};

export async function seedGrading(sql: Sql, scanId: string, g: SeedGrading = {}): Promise<string> {
  const [r] = await sql<{ id: string }[]>`
    INSERT INTO grading_results (scan_id, model_name, model_version, inference_sha256, confidence, confidence_breakdown,
                                 features_used, created_by, grade, grade_reasons, created_at)
    VALUES (${scanId}, ${g.modelName ?? (g.createdBy ? 'manual' : 'ribeye-seg')}, '2.3.0', ${'d'.repeat(64)},
            ${g.confidence ?? 0.87}, ${sql.json({ mask_iou: 0.84, edge_quality: 0.78, snr: 18.3 })},
            ${sql.json((g.features ?? { rea_cm2: 78.2, fat_thickness_mm: 6.1 }) as never)}, ${g.createdBy ?? null},
            ${g.grade === undefined ? 'A' : g.grade}, ${g.grade === 'R' ? ['too_dark'] : []},
            ${g.createdAt ?? new Date().toISOString()})
    RETURNING id`;
  await sql`UPDATE scans SET status = 'graded' WHERE id = ${scanId}`;
  return r!.id;
}
