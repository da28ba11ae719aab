/**
 * The schema migration 1 must produce, written out by hand from spec §4 (canonical DDL) in the
 * shape `introspectSchema` prints. Names of implicit constraints, indexes and sequences follow
 * Postgres' defaults (`<table>_pkey`, `<table>_<cols>_key`, `<table>_<col>_fkey`, `<table>_<col>_seq`).
 * Foreign keys have no ON DELETE clause in the spec, i.e. NO ACTION — equivalent to RESTRICT here.
 */
const UUID_PK = 'uuid NOT NULL DEFAULT gen_random_uuid()';
const NOW = 'timestamp with time zone DEFAULT now()';
const serial = (table: string, type: 'integer' | 'bigint') =>
  `${type} NOT NULL DEFAULT nextval('${table}_id_seq'::regclass)`;
const pkey = (table: string, cols = 'id') => [
  `constraint ${table}.${table}_pkey PRIMARY KEY (${cols})`,
  `index ${table}_pkey: CREATE UNIQUE INDEX ${table}_pkey ON public.${table} USING btree (${cols})`,
];
const unique = (table: string, cols: string[]) => {
  const name = `${table}_${cols.join('_')}_key`;
  return [
    `constraint ${table}.${name} UNIQUE (${cols.join(', ')})`,
    `index ${name}: CREATE UNIQUE INDEX ${name} ON public.${table} USING btree (${cols.join(', ')})`,
  ];
};
const fk = (table: string, col: string, ref: string) =>
  `constraint ${table}.${table}_${col}_fkey FOREIGN KEY (${col}) REFERENCES ${ref}(id) ON DELETE NO ACTION`;
const index = (name: string, table: string, def: string) =>
  `index ${name}: CREATE INDEX ${name} ON public.${table} USING ${def}`;
const table = (name: string, cols: Record<string, string>) => [
  `table ${name}`,
  ...Object.entries(cols).map(([col, def]) => `column ${name}.${col} ${def}`),
];

export const SPEC_SCHEMA: readonly string[] = [
  'extension plpgsql',
  'extension uuid-ossp',
  'extension pgcrypto',
  'extension postgis',

  ...table('roles', { id: serial('roles', 'integer'), name: 'text NOT NULL' }),
  ...pkey('roles'),
  ...unique('roles', ['name']),
  'sequence roles_id_seq',

  ...table('users', {
    id: UUID_PK,
    email: 'text NOT NULL',
    full_name: 'text',
    password_hash: 'text',
    created_at: NOW,
    updated_at: NOW,
  }),
  ...pkey('users'),
  ...unique('users', ['email']),

  ...table('user_roles', { user_id: 'uuid NOT NULL', role_id: 'integer NOT NULL' }),
  ...pkey('user_roles', 'user_id, role_id'),
  fk('user_roles', 'user_id', 'users'),
  fk('user_roles', 'role_id', 'roles'),

  ...table('farms', {
    id: UUID_PK,
    name: 'text NOT NULL',
    geofence: 'geometry(Polygon,4326)',
    centroid: 'geometry(Point,4326)',
    created_at: NOW,
    updated_at: NOW,
  }),
  ...pkey('farms'),
  index('idx_farms_geofence_gist', 'farms', 'gist (geofence)'),

  ...table('animals', {
    id: UUID_PK,
    farm_id: 'uuid',
    tag_id: 'text NOT NULL',
    breed: 'text',
    sex: 'text',
    birth_date: 'date',
    created_at: NOW,
  }),
  ...pkey('animals'),
  fk('animals', 'farm_id', 'farms'),
  ...unique('animals', ['farm_id', 'tag_id']),

  ...table('devices', {
    id: UUID_PK,
    device_code: 'text NOT NULL',
    label: 'text',
    farm_id: 'uuid',
    s3_prefix_hint: 'text',
    last_seen_at: 'timestamp with time zone',
    last_upload_at: 'timestamp with time zone',
    captures_count: 'integer DEFAULT 0',
    created_at: NOW,
    updated_at: NOW,
  }),
  ...pkey('devices'),
  ...unique('devices', ['device_code']),
  fk('devices', 'farm_id', 'farms'),

  ...table('assets', {
    id: UUID_PK,
    bucket: 'text NOT NULL',
    object_key: 'text NOT NULL',
    sha256: 'character(64) NOT NULL',
    size_bytes: 'bigint',
    mime_type: 'text',
    created_at: NOW,
  }),
  ...pkey('assets'),
  ...unique('assets', ['bucket', 'object_key']),

  'enum scan_status: uploaded, ingested, graded, error',

  ...table('scans', {
    id: UUID_PK,
    scan_id: 'text',
    capture_id: 'text NOT NULL',
    ingest_key: 'text NOT NULL',
    device_id: 'uuid NOT NULL',
    farm_id: 'uuid',
    animal_id: 'uuid',
    operator_id: 'uuid',
    gps: 'geometry(Point,4326)',
    captured_at: 'timestamp with time zone',
    status: "scan_status DEFAULT 'uploaded'::scan_status",
    image_asset_id: 'uuid',
    mask_asset_id: 'uuid',
    created_at: NOW,
  }),
  ...pkey('scans'),
  fk('scans', 'device_id', 'devices'),
  fk('scans', 'farm_id', 'farms'),
  fk('scans', 'animal_id', 'animals'),
  fk('scans', 'operator_id', 'users'),
  fk('scans', 'image_asset_id', 'assets'),
  fk('scans', 'mask_asset_id', 'assets'),
  ...unique('scans', ['ingest_key']),
  index('idx_scans_device_captured', 'scans', 'btree (device_id, captured_at DESC)'),
  index('idx_scans_farm_captured', 'scans', 'btree (farm_id, captured_at DESC)'),

  ...table('scan_events', {
    id: serial('scan_events', 'bigint'),
    scan_id: 'uuid NOT NULL',
    event: 'text NOT NULL',
    meta: 'jsonb',
    created_at: NOW,
  }),
  ...pkey('scan_events'),
  fk('scan_events', 'scan_id', 'scans'),
  index('idx_scan_events_scan_time', 'scan_events', 'btree (scan_id, created_at)'),
  'sequence scan_events_id_seq',

  ...table('ingestion_log', {
    id: serial('ingestion_log', 'bigint'),
    capture_id: 'text NOT NULL',
    ingest_key: 'text NOT NULL',
    http_status: 'integer',
    bytes_in: 'integer',
    ms: 'integer',
    error: 'text',
    created_at: NOW,
  }),
  ...pkey('ingestion_log'),
  index('idx_ingest_log_capture', 'ingestion_log', 'btree (capture_id)'),
  index('idx_ingest_log_key_time', 'ingestion_log', 'btree (ingest_key, created_at)'),
  'sequence ingestion_log_id_seq',

  ...table('grading_results', {
    id: UUID_PK,
    scan_id: 'uuid NOT NULL',
    model_name: 'text NOT NULL',
    model_version: 'text NOT NULL',
    inference_sha256: 'character(64)',
    confidence: 'numeric(5,4)',
    confidence_breakdown: 'jsonb',
    features_used: 'jsonb',
    created_by: 'uuid',
    created_at: NOW,
  }),
  ...pkey('grading_results'),
  fk('grading_results', 'scan_id', 'scans'),
  fk('grading_results', 'created_by', 'users'),
  index('idx_grading_scan_time', 'grading_results', 'btree (scan_id, created_at)'),
  index('idx_grading_model_ver', 'grading_results', 'btree (model_name, model_version)'),

  ...table('notifications', {
    id: serial('notifications', 'bigint'),
    user_id: 'uuid NOT NULL',
    type: 'text NOT NULL',
    payload: 'jsonb',
    is_read: 'boolean DEFAULT false',
    created_at: NOW,
  }),
  ...pkey('notifications'),
  fk('notifications', 'user_id', 'users'),
  index('idx_notifications_user', 'notifications', 'btree (user_id, created_at)'),
  'sequence notifications_id_seq',

  // The runner's bookkeeping table (not in the spec; created by migrate itself).
  ...table('schema_migrations', {
    version: 'integer NOT NULL',
    name: 'text NOT NULL',
    checksum: 'character(64) NOT NULL',
    applied_at: 'timestamp with time zone NOT NULL DEFAULT now()',
  }),
  ...pkey('schema_migrations', 'version'),
];
