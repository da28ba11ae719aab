#!/usr/bin/env node
// Every relative link in the repository's markdown resolves: the file exists and, for a `#anchor`
// into a markdown file, a heading (GitHub's slug rules) or an explicit <a id/name> has that anchor.
// Links in code spans and fenced blocks, and absolute URLs (http:, mailto:, …), are not checked.
// Run by `pnpm lint:docs` and by scripts/test.sh; prints each broken link as `file:line: …` and exits 1.
//
// Usage: node scripts/lib/check-doc-links.mjs [repository root, default: this repository]
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(process.argv[2] ?? resolve(dirname(fileURLToPath(import.meta.url)), '../..'));
const files = execFileSync('git', ['ls-files', '*.md'], { cwd: root, encoding: 'utf8' })
  .split('\n')
  .filter(Boolean);

const anchorsOf = new Map();
/** The anchors a markdown file offers: GitHub's heading slugs (duplicates get -1, -2 …) and <a id|name>. */
function anchors(file) {
  let found = anchorsOf.get(file);
  if (found) return found;
  const text = readFileSync(file, 'utf8').replace(/^\s*```[\s\S]*?^\s*```/gm, '');
  const seen = new Map();
  found = new Set();
  for (const [, heading] of text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = heading
      .replace(/<[^>]+>/g, '')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    found.add(n ? `${slug}-${n}` : slug);
  }
  for (const [, id] of text.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) found.add(id);
  anchorsOf.set(file, found);
  return found;
}

let checked = 0;
const broken = [];
for (const md of files) {
  const path = resolve(root, md);
  let fenced = false;
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (/^\s*```/.test(line)) fenced = !fenced;
      if (fenced) return;
      for (const [, target] of line
        .replace(/`[^`]*`/g, '')
        .matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\)/g)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
        checked++;
        const [file, anchor] = target.split('#');
        const linked = file ? resolve(dirname(path), decodeURIComponent(file)) : path;
        if (!existsSync(linked)) broken.push(`${md}:${i + 1}: ${target}: no such file`);
        else if (
          anchor !== undefined &&
          linked.endsWith('.md') &&
          !anchors(linked).has(decodeURIComponent(anchor))
        )
          broken.push(`${md}:${i + 1}: ${target}: no heading or <a id> "${anchor}" in ${file || md}`);
      }
    });
}
for (const line of broken) console.error(line);
console.log(
  `doc links: ${checked} relative links in ${files.length} markdown files, ${broken.length} broken`,
);
process.exit(broken.length ? 1 : 0);
