import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

// infra/pi/udev-rule.sh writes the installed udev rule (install.sh calls it with --probe-usb/--gps-usb).
const script = fileURLToPath(new URL('../../../../infra/pi/udev-rule.sh', import.meta.url));
const run = (...args: string[]) => spawnSync('bash', [script, ...args], { encoding: 'utf8' });

/** The rule lines as symlink -> { idVendor, idProduct, GROUP, MODE }. */
function rules(text: string) {
  const out = new Map<string, Record<string, string>>();
  for (const line of text.split('\n').filter((l) => l.startsWith('SUBSYSTEM=='))) {
    const fields = Object.fromEntries(
      [...line.matchAll(/(?:(?:ATTRS|ENV)\{(\w+)\}|(\w+))(?:==|\+?=)"([^"]*)"/g)].map((m) => [
        m[1] ?? m[2],
        m[3],
      ]),
    );
    out.set(fields.SYMLINK!, fields);
  }
  return out;
}

describe('udev rule for stable probe and GPS names', () => {
  test('shipped IDs: /dev/cti-probe, /dev/cti-gps and /dev/cti-eid, group dialout, ModemManager kept off', () => {
    const r = run();
    assert.equal(r.status, 0, r.stderr);
    const lines = rules(r.stdout);
    assert.deepEqual([...lines.keys()], ['cti-probe', 'cti-gps', 'cti-eid']);
    for (const fields of lines.values()) {
      assert.equal(fields.SUBSYSTEM, 'tty');
      assert.equal(fields.GROUP, 'dialout');
      assert.equal(fields.MODE, '0660');
      assert.equal(fields.ID_MM_DEVICE_IGNORE, '1');
      assert.match(`${fields.idVendor}:${fields.idProduct}`, /^[0-9a-f]{4}:[0-9a-f]{4}$/);
    }
  });

  test('--probe-usb / --gps-usb replace only their own line, lower-cased', () => {
    const shipped = rules(run().stdout);
    const r = run('--probe-usb', '2341:8036');
    assert.equal(r.status, 0, r.stderr);
    const lines = rules(r.stdout);
    assert.equal(`${lines.get('cti-probe')!.idVendor}:${lines.get('cti-probe')!.idProduct}`, '2341:8036');
    assert.deepEqual(lines.get('cti-gps'), shipped.get('cti-gps'));
    const both = rules(run('--gps-usb', '067B:23A3', '--probe-usb', '1a86:7523').stdout);
    assert.equal(both.get('cti-gps')!.idVendor, '067b');
    assert.equal(both.get('cti-gps')!.idProduct, '23a3');
    assert.equal(both.get('cti-probe')!.idVendor, '1a86');
    const eid = rules(run('--eid-usb', '10C4:EA60').stdout);
    assert.equal(`${eid.get('cti-eid')!.idVendor}:${eid.get('cti-eid')!.idProduct}`, '10c4:ea60');
    assert.deepEqual(eid.get('cti-probe'), shipped.get('cti-probe'));
  });

  test('a malformed ID exits 2 naming it and prints no rule', () => {
    for (const bad of ['2341', '2341:80366', 'zz41:8036', '']) {
      const r = run('--probe-usb', bad);
      assert.equal(r.status, 2, bad);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, new RegExp(`USB id '${bad}' for cti-probe is not VID:PID in hex`));
    }
    assert.equal(run('--bogus').status, 2);
  });
});
