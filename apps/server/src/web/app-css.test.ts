import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

// The colour variables of app.css checked against WCAG 2.x contrast: ≥ 7:1 (AAA) for body text, so it
// stays readable on a phone in sunlight; ≥ 4.5:1 (AA) for every other text pair used.
const css = readFileSync(new URL('./static/app.css', import.meta.url), 'utf8');
const expand = (hex: string) => (hex.length === 4 ? `#${[...hex.slice(1)].map((c) => c + c).join('')}` : hex);
const vars = Object.fromEntries(
  [...css.matchAll(/--([\w-]+):\s*(#[0-9a-f]{6}|#[0-9a-f]{3})\b/gi)].map((m) => [m[1]!, expand(m[2]!)]),
);
const color = (name: string) =>
  name.startsWith('#') ? name : (vars[name] ?? assert.fail(`no --${name} in app.css`));

function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5]
    .map((i) => Number.parseInt(hex.slice(i, i + 2), 16) / 255)
    .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}
const contrast = (a: string, b: string) => {
  const [l1, l2] = [luminance(color(a)), luminance(color(b))].sort((x, y) => y - x);
  return (l1! + 0.05) / (l2! + 0.05);
};

describe('app.css colours', () => {
  it('body text reaches AAA (7:1)', () => {
    for (const [fg, bg] of [
      ['ink', 'paper'],
      ['ink-muted', 'paper'],
      ['ink', 'paper-alt'],
      ['link', 'paper'],
      ['#ffffff', 'brand'],
    ]) {
      assert.ok(contrast(fg!, bg!) >= 7, `${fg} on ${bg}: ${contrast(fg!, bg!).toFixed(2)}`);
    }
  });

  it('every other text pair reaches AA (4.5:1)', () => {
    const pairs = [
      ['#ffffff', 'grade-a'],
      ['#ffffff', 'grade-m'],
      ['#ffffff', 'grade-r'],
      ['error', 'paper'],
      ['error', 'error-bg'],
      ['ink', 'focus'],
      ['ink-muted', 'paper-alt'],
      ['ink', 'ok-bg'],
      ['ink', 'warn-bg'],
      ['ink', 'info-bg'],
      ['brand', '#ffffff'],
    ];
    for (const [fg, bg] of pairs)
      assert.ok(contrast(fg!, bg!) >= 4.5, `${fg} on ${bg}: ${contrast(fg!, bg!).toFixed(2)}`);
  });

  it('has a print stylesheet that hides navigation and keeps charts whole', () => {
    const print = css.slice(css.indexOf('@media print'));
    assert.match(print, /\.site-header/);
    assert.match(print, /break-inside: avoid/);
  });
});
