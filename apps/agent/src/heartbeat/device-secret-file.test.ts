import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createDeviceKey } from '@cti/contracts';
import { DeviceSecretFileError, readDeviceSecretFile } from './device-secret-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'cti-secret-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string, mode = 0o600) {
  const path = join(dir, name);
  writeFileSync(path, text);
  chmodSync(path, mode);
  return path;
}

const refused = (path: string, message: RegExp, code = 'dev-0001') =>
  assert.throws(
    () => readDeviceSecretFile(path, code),
    (e: Error) => e instanceof DeviceSecretFileError && message.test(e.message),
  );

describe('the device secret file', () => {
  const key = createDeviceKey('dev-0001');

  test("a 0600 file with this device's secret (and a trailing newline) is read", () => {
    const secret = readDeviceSecretFile(file('ok', `${key.secret}\n`), 'dev-0001');
    assert.equal(secret.fingerprint, key.fingerprint);
    assert.equal(
      readDeviceSecretFile(file('ro', key.secret, 0o400), 'dev-0001').deviceCode,
      'dev-0001',
      'systemd credentials are 0400',
    );
  });

  test("missing, empty, systemd's placeholder, or readable by others: refused with the fix", () => {
    refused(
      join(dir, 'nope'),
      /no device secret at .*nope\. Fix: an admin runs `cti-server device add <device_code>`/,
    );
    refused(file('empty', ''), /no device secret installed: .*empty is empty\. Fix:/);
    refused(
      file('placeholder', 'missing'),
      /no device secret installed: .* is systemd's placeholder \(\/etc\/cti\/device-secret does not exist\)\. Fix: an admin runs/,
    );
    refused(
      file('open', key.secret, 0o644),
      /readable by other users \(mode 644\)\. Fix: sudo chmod 600 .* rotate-secret dev-0001/,
    );
  });

  test('malformed, or made for another device: refused without echoing the key', () => {
    refused(
      file('bad', 'ctidk1.dev-0001.AAAA'),
      /is not usable: the key part of the device secret is not a PKCS#8 private key/,
    );
    const other = createDeviceKey('dev-0002');
    refused(
      file('other', other.secret),
      /was made for device dev-0002, but this agent's device_code is dev-0001/,
    );
    try {
      readDeviceSecretFile(file('other2', other.secret), 'dev-0001');
    } catch (e) {
      assert.ok(!(e as Error).message.includes(other.secret.split('.')[2]!.slice(0, 20)));
    }
  });

  test("systemd's copy in $CREDENTIALS_DIRECTORY: 0440 (the ACL mask in the group bits) or 0400 is read; others' or write bits are refused", () => {
    // LoadCredential= on an ACL-capable file system (tmpfs): 0400 root plus an ACL entry granting the
    // service user read, which `stat` shows as mode 0440 (review r22 F14).
    const creds = join(dir, 'credentials');
    mkdirSync(creds);
    const inCreds = (name: string, mode: number) => {
      const path = join(creds, name);
      writeFileSync(path, key.secret);
      chmodSync(path, mode);
      return path;
    };
    const acl = inCreds('device-secret', 0o440);
    assert.equal(readDeviceSecretFile(acl, 'dev-0001', creds).fingerprint, key.fingerprint);
    assert.equal(
      readDeviceSecretFile(inCreds('ramfs', 0o400), 'dev-0001', `${creds}/`).deviceCode,
      'dev-0001',
    );
    const refusedIn = (path: string, message: RegExp) =>
      assert.throws(
        () => readDeviceSecretFile(path, 'dev-0001', creds),
        (e: Error) => e instanceof DeviceSecretFileError && message.test(e.message),
      );
    refusedIn(
      inCreds('open', 0o444),
      /systemd's copy of the device secret .*open is readable by other users \(mode 444\), unlike what LoadCredential= makes\. Fix: sudo chmod 600 \/etc\/cti\/device-secret .* rotate-secret dev-0001/,
    );
    refusedIn(inCreds('writable', 0o640), /writable is writable \(mode 640\)/);
    if (process.getuid?.() === 0) {
      const foreign = inCreds('foreign', 0o400);
      chownSync(foreign, 4242, 4242);
      refusedIn(foreign, /foreign is owned by uid 4242, neither root nor the service's user/);
    }
    symlinkSync(acl, join(creds, 'link'));
    refusedIn(join(creds, 'link'), /link is not a regular file/);
    // Only directly in that directory; elsewhere (and without it) the 0600 rule stands.
    mkdirSync(join(creds, 'sub'));
    refusedIn(
      inCreds('sub/device-secret', 0o440),
      /readable by other users \(mode 440\)\. Fix: sudo chmod 600/,
    );
    refused(
      file('acl-outside', key.secret, 0o440),
      /readable by other users \(mode 440\)\. Fix: sudo chmod 600/,
    );
    assert.throws(() => readDeviceSecretFile(acl, 'dev-0001'), /readable by other users \(mode 440\)/);
  });
});
