import type { Sql } from 'postgres';

/**
 * The application's schema in `public` as sorted, comparable lines (objects owned by extensions,
 * such as PostGIS' spatial_ref_sys, are left out). Test helper.
 */
export async function introspectSchema(sql: Sql): Promise<string[]> {
  const parts = await Promise.all([
    extensions(sql),
    tables(sql),
    columns(sql),
    constraints(sql),
    indexes(sql),
    enums(sql),
    sequences(sql),
    otherObjects(sql),
  ]);
  return parts.flat().sort();
}

// Relations in public that no extension owns (composite types record the ownership on their type).
const APP_RELATIONS = `
  SELECT c.oid, c.relname, c.relkind FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
  WHERE NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.deptype = 'e' AND (
    (d.classid = 'pg_class'::regclass AND d.objid = c.oid) OR
    (d.classid = 'pg_type'::regclass AND d.objid = c.reltype)))`;

async function lines(sql: Sql, query: string): Promise<string[]> {
  const rows = await sql.unsafe<{ line: string }[]>(query);
  return rows.map((r) => r.line);
}

const extensions = (sql: Sql) => lines(sql, `SELECT 'extension ' || extname AS line FROM pg_extension`);

const tables = (sql: Sql) =>
  lines(sql, `SELECT 'table ' || relname AS line FROM (${APP_RELATIONS}) r WHERE relkind IN ('r', 'p')`);

const columns = (sql: Sql) =>
  lines(
    sql,
    `SELECT 'column ' || r.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
        || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
        || coalesce(' DEFAULT ' || pg_get_expr(ad.adbin, ad.adrelid), '') AS line
     FROM (${APP_RELATIONS}) r
     JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
     LEFT JOIN pg_attrdef ad ON ad.adrelid = r.oid AND ad.adnum = a.attnum
     WHERE r.relkind IN ('r', 'p')`,
  );

const constraints = (sql: Sql) =>
  lines(
    sql,
    `SELECT 'constraint ' || r.relname || '.' || c.conname || ' ' || pg_get_constraintdef(c.oid)
        || CASE c.contype WHEN 'f' THEN ' ON DELETE ' || CASE c.confdeltype
             WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE'
             WHEN 'n' THEN 'SET NULL' ELSE 'SET DEFAULT' END ELSE '' END AS line
     FROM (${APP_RELATIONS}) r JOIN pg_constraint c ON c.conrelid = r.oid`,
  );

const indexes = (sql: Sql) =>
  lines(
    sql,
    `SELECT 'index ' || i.indexname || ': ' || i.indexdef AS line
     FROM pg_indexes i JOIN (${APP_RELATIONS}) r ON r.relname = i.tablename
     WHERE i.schemaname = 'public'`,
  );

const enums = (sql: Sql) =>
  lines(
    sql,
    `SELECT 'enum ' || t.typname || ': ' || string_agg(e.enumlabel, ', ' ORDER BY e.enumsortorder) AS line
     FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
     JOIN pg_namespace n ON n.oid = t.typnamespace AND n.nspname = 'public'
     WHERE NOT EXISTS (SELECT 1 FROM pg_depend d
       WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
     GROUP BY t.typname`,
  );

const sequences = (sql: Sql) =>
  lines(sql, `SELECT 'sequence ' || relname AS line FROM (${APP_RELATIONS}) r WHERE relkind = 'S'`);

// Anything else the application could have created: views, functions, triggers.
const otherObjects = (sql: Sql) =>
  lines(
    sql,
    `SELECT 'relation ' || relname || ' kind ' || relkind::text AS line FROM (${APP_RELATIONS}) r
       WHERE relkind NOT IN ('r', 'p', 'S', 'i')
     UNION ALL
     SELECT 'function ' || p.proname FROM pg_proc p
       JOIN pg_namespace n ON n.oid = p.pronamespace AND n.nspname = 'public'
       WHERE NOT EXISTS (SELECT 1 FROM pg_depend d
         WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
     UNION ALL
     SELECT 'trigger ' || tgname FROM pg_trigger t
       JOIN (${APP_RELATIONS}) r ON r.oid = t.tgrelid WHERE NOT t.tgisinternal`,
  );
