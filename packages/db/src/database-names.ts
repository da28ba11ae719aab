import { createHash, randomBytes } from 'node:crypto';
import type { Migration } from './migration-files.ts';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/**
 * Names of the databases the test helper creates for one base database. All carry a tag of the base
 * database's name, so runs against different bases (and `dropAllTestDatabases`) never touch each
 * other's databases:
 *   template  cti_tmpl_<base6>_<migrations10>
 *   clone     cti_test_<base6>_<migrations10>_<pid>_<random>   (copy of the migrated template)
 *   bare      cti_test_<base6>_base_<pid>_<random>             (copy of the base, no migrations)
 */
export type TestDatabaseNames = {
  templatePrefix: string;
  clonePrefix: string;
  /** The template for this migration set: a changed, added or removed migration changes the name. */
  template: (migrations: readonly Migration[]) => string;
  /** Prefix shared by all clones of one template. */
  clonesOf: (template: string) => string;
  /** Regex (Postgres syntax) matching clones of any template of this base. */
  anyTemplateClone: string;
  clone: (template: string) => string;
  bareClone: () => string;
};

export function testDatabaseNames(baseDb: string): TestDatabaseNames {
  const tag = sha256(baseDb).slice(0, 6);
  const templatePrefix = `cti_tmpl_${tag}_`;
  const clonePrefix = `cti_test_${tag}_`;
  const unique = () => `${process.pid}_${randomBytes(4).toString('hex')}`;
  const clonesOf = (template: string) => `${clonePrefix}${template.slice(templatePrefix.length)}_`;
  return {
    templatePrefix,
    clonePrefix,
    template: (migrations) =>
      `${templatePrefix}${sha256(migrations.map((m) => `${m.file}\0${m.checksum}`).join('\0')).slice(0, 10)}`,
    clonesOf,
    anyTemplateClone: `^${clonePrefix}[0-9a-f]{10}_`,
    clone: (template) => `${clonesOf(template)}${unique()}`,
    bareClone: () => `${clonePrefix}base_${unique()}`,
  };
}
