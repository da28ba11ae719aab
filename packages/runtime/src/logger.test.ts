import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

// A process whose log reader has gone away (the collector died, journald restarted, `| head`) must
// still be able to stop. pino's destination (sonic-boom 4.2.1) retried a failed synchronous flush
// forever on any error but EAGAIN/EBUSY: with stdout a closed pipe, flushSync() slept and rewrote on
// EPIPE for ever, so the process hung at exit and ignored SIGTERM (patches/sonic-boom@4.2.1.patch).
test('flushing logs to a closed pipe fails with EPIPE instead of hanging the process', async () => {
  const child = spawn(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import { pino } from 'pino';
       const dest = pino.destination({ dest: 1, sync: false });
       const log = pino(dest);
       await new Promise((r) => setTimeout(r, 200)); // the parent has closed its end by now
       for (let i = 0; i < 2000; i++) log.info({ i }, 'x'.repeat(200));
       try { dest.flushSync(); process.stderr.write('flushed'); }
       catch (err) { process.stderr.write('threw ' + err.code); }
       process.exit(0);`,
    ],
    { cwd: PACKAGE_DIR, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const [code, signal] = await once(child, 'exit');
  clearTimeout(timer);
  assert.equal(signal, null, `the process hung flushing its logs and was killed; stderr: ${stderr}`);
  assert.equal(code, 0);
  assert.match(stderr, /threw EPIPE/);
});
