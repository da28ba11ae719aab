import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { rawObjectKey, validateMeta } from '@cti/contracts';
import { type LocalS3, startS3rver, waitFor } from '@cti/testkit';
import { startNotifySocket } from './test-support/notify-socket.ts';
import { runAgentCli } from './test-support/run-cli.ts';

const cli = join(dirname(fileURLToPath(import.meta.url)), 'cli.ts');
const runCli = (args: string[], env: NodeJS.ProcessEnv) => runAgentCli(args, { env });

describe('spawned `cti-agent run` (simulated probe, s3rver, fake notify socket)', () => {
  let dir: string;
  let s3: LocalS3;
  let agent: ChildProcess;
  let notify: Awaited<ReturnType<typeof startNotifySocket>>;
  let env: NodeJS.ProcessEnv;
  let config: string;
  let exit: Promise<{ code: number | null; signal: string | null }>;
  const logs: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cti-run-'));
    s3 = await startS3rver({ buckets: ['cti-test'] });
    notify = await startNotifySocket(join(dir, 'notify.sock'));
    config = join(dir, 'agent.json');
    writeFileSync(
      config,
      JSON.stringify({
        device_code: 'dev-0001',
        operator_id: 'tech-abc',
        data_dir: join(dir, 'data'),
        source: { kind: 'simulated', fps: 20, width: 256, height: 192, pattern: 'synthetic' },
        trigger: { kind: 'none' },
        hint: { enabled: false },
        http: { port: 0 },
        upload: { bucket: 'cti-test', endpoint: s3.endpoint, region: 'us-east-1' },
        outbox: { min_free_mb: 1 },
      }),
    );
    env = {
      ...process.env,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      LOG_LEVEL: 'info',
    };
    agent = spawn(process.execPath, [cli, '--config', config, 'run'], {
      env: { ...env, NOTIFY_SOCKET: notify.path, WATCHDOG_USEC: '400000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agent.stdout!.on('data', (c: Buffer) => logs.push(c.toString()));
    agent.stderr!.on('data', (c: Buffer) => logs.push(c.toString()));
    exit = new Promise((resolve) => agent.once('exit', (code, signal) => resolve({ code, signal })));
    await waitFor(() => existsSync(join(dir, 'data', 'agent-http.json')), {
      what: 'agent ready',
      timeoutMs: 30_000,
    });
  });

  after(async () => {
    if (agent.exitCode === null) agent.kill('SIGKILL');
    notify.close();
    await s3.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('it tells systemd READY=1 and pings the watchdog while frames flow', { timeout: 90_000 }, async () => {
    await waitFor(() => notify.messages.some((m) => m.split('\n').includes('READY=1')), { what: 'READY=1' });
    await waitFor(() => notify.messages.filter((m) => m === 'WATCHDOG=1').length >= 2, {
      what: 'watchdog pings',
    });
  });

  test('`cti-agent capture` takes a capture that reaches S3 with a valid meta.json', {
    timeout: 90_000,
  }, async () => {
    const { code, stdout } = await runCli(['--config', config, 'capture'], env);
    assert.equal(code, 0, stdout + logs.join(''));
    const result = JSON.parse(stdout) as {
      status: string;
      captureId: string;
      capturedAt: string;
      latencyMs: number;
    };
    assert.equal(result.status, 'captured');
    assert.ok(result.latencyMs > 0);
    const key = rawObjectKey({
      deviceCode: 'dev-0001',
      capturedAt: result.capturedAt,
      captureId: result.captureId,
      file: 'meta.json',
    });
    await waitFor(() => s3.events.some((e) => e.key === key), { what: 'meta.json in S3', timeoutMs: 30_000 });
    const keys = s3.events.map((e) => e.key);
    assert.ok(
      keys.indexOf(key.replace('meta.json', 'image.png')) < keys.indexOf(key),
      'image before meta.json',
    );
    const object = await s3.client.send(new GetObjectCommand({ Bucket: 'cti-test', Key: key }));
    const meta = JSON.parse(await object.Body!.transformToString());
    assert.ok(validateMeta(meta).ok);
    assert.equal(meta.capture_id, result.captureId);
    assert.equal(meta.operator_id, 'tech-abc');
  });

  test('`cti-agent status` reports the source, clock and the drained outbox', {
    timeout: 90_000,
  }, async () => {
    await waitFor(
      async () => {
        const { stdout } = await runCli(['--config', config, 'status'], env);
        return (JSON.parse(stdout) as { outbox: { pendingCaptures: number } }).outbox.pendingCaptures === 0;
      },
      { what: 'outbox drained', timeoutMs: 30_000, intervalMs: 300 },
    );
    const { code, stdout } = await runCli(['--config', config, 'status'], env);
    assert.equal(code, 0);
    const status = JSON.parse(stdout);
    assert.equal(status.service, 'running');
    assert.equal(status.source.kind, 'simulated');
    assert.equal(status.source.connected, true);
    assert.equal(status.captures.captured, 1);
    assert.equal(typeof status.clock.synced, 'boolean');
    assert.equal(status.outbox.uploadedTotal, 1);
  });

  test('`cti-agent outbox retry` requeues in the database and has the running service retry now', {
    timeout: 90_000,
  }, async () => {
    const { code, stdout } = await runCli(['--config', config, 'outbox', 'retry'], env);
    assert.equal(code, 0, stdout);
    assert.equal(stdout, '0 quarantined capture(s) requeued\nthe running service is retrying now\n');
    await waitFor(() => logs.join('').includes('retry now: waking the backlog'), {
      what: 'the service woke',
    });
  });

  test('`cti-agent doctor` with a config whose LED the running agent does not use: checks the line itself and says to restart', {
    timeout: 90_000,
  }, async () => {
    const withLed = join(dir, 'agent-led.json');
    const sysfs = join(dirname(cli), '..', 'test-fixtures', 'sysfs', 'pi5-kernel-6.6');
    writeFileSync(
      withLed,
      JSON.stringify({ ...JSON.parse(readFileSync(config, 'utf8')), led: { bcm: 27 }, sysfs_root: sysfs }),
    );
    const { stdout } = await runCli(['--config', withLed, 'doctor'], env);
    assert.match(
      stdout,
      /\[WARN\] gpio led\s+BCM 27 = sysfs line 598 on pinctrl-rp1 \(base 571\); checked by doctor: the running agent does not use this line\n\s+fix: restart the agent for the config to take effect: sudo systemctl restart cti-agent\n/,
      stdout,
    );
  });

  test('SIGTERM: STOPPING=1, exit code 0, runtime file removed', { timeout: 90_000 }, async () => {
    agent.kill('SIGTERM');
    const { code, signal } = await exit;
    assert.equal(signal, null);
    assert.equal(code, 0, logs.join(''));
    assert.ok(notify.messages.includes('STOPPING=1'));
    assert.equal(existsSync(join(dir, 'data', 'agent-http.json')), false);
    const { code: capCode, stderr } = await runCli(['--config', config, 'capture'], env);
    assert.equal(capCode, 2);
    assert.match(stderr, /does not answer .* Fix: start it/);
    const retry = await runCli(['--config', config, 'outbox', 'retry'], env);
    assert.equal(retry.code, 0);
    assert.match(retry.stdout, /the service is not running: uploads resume when it starts\n$/);
  });
});

describe('cti-agent capture when the service dies mid-request', () => {
  test('says the outcome is unknown, points at `cti-agent outbox list`, exits 4 (not 2: "not running")', {
    timeout: 90_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cti-died-'));
    // A process in the service's place that reads the capture request and dies before answering.
    const service = spawn(
      process.execPath,
      [
        '-e',
        `require('node:http').createServer((req) => req.on('end', () => process.exit(9)).resume())
           .listen(0, '127.0.0.1', function () { console.log(this.address().port); });`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const port = Number(await new Promise<string>((resolve) => service.stdout?.once('data', resolve)));
      const file = join(dir, 'agent.json');
      writeFileSync(
        file,
        JSON.stringify({
          device_code: 'dev-0001',
          data_dir: dir,
          source: { kind: 'simulated', pattern: 'synthetic' },
          upload: { bucket: 'cti-test', enabled: false },
        }),
      );
      writeFileSync(join(dir, 'agent-http.json'), JSON.stringify({ host: '127.0.0.1', port }));
      const died = await runCli(['--config', file, 'capture'], process.env);
      assert.equal(service.exitCode ?? (await new Promise((r) => service.once('exit', r))), 9);
      assert.equal(died.code, 4, died.stderr);
      assert.match(
        died.stderr,
        /took the request but gave no answer .*outcome unknown — check `sudo cti-agent outbox list`/,
      );
      // The same command with nothing listening any more: "not running", exit 2.
      const down = await runCli(['--config', file, 'capture'], process.env);
      assert.equal(down.code, 2, down.stderr);
      assert.match(down.stderr, /does not answer .* Fix: start it/);
    } finally {
      service.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cti-agent config errors', () => {
  test('an invalid config names every bad key and exits 2', { timeout: 90_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cti-cfg-'));
    try {
      const file = join(dir, 'agent.json');
      writeFileSync(
        file,
        JSON.stringify({
          device_code: 'Bad Code',
          source: { kind: 'serial' },
          upload: { bucket: 'b-1' },
          trigerr: {},
        }),
      );
      const { code, stderr } = await runCli(['--config', file, 'status'], process.env);
      assert.equal(code, 2);
      assert.match(stderr, /\/device_code: must be a device code/);
      assert.match(stderr, /\/source\/path: is required/);
      assert.match(stderr, /\/trigerr: is not an allowed property/);
      const missing = await runCli(['--config', join(dir, 'nope.json'), 'status'], process.env);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /cannot read agent config .*nope\.json.*Fix:/);
      // A valid file with a bad agent.env override: the same exit, naming the variable.
      writeFileSync(
        file,
        JSON.stringify({ device_code: 'dev-0001', source: { kind: 'simulated' }, upload: { bucket: 'b-1' } }),
      );
      const env = await runCli(['--config', file, 'status'], { ...process.env, CTI_S3_BUCKET: 'Bad_Bucket' });
      assert.equal(env.code, 2, env.stderr);
      assert.match(env.stderr, /CTI_S3_BUCKET: must be an S3 bucket name \(overrides \/upload\/bucket\)/);
      // LOG_LEVEL (the unit's Environment=, or agent.env): named, exit 2 — before, `run` died in pino
      // with a stack trace and exit 1, which systemd restarted every 2 s for ever (review r3 F9).
      for (const command of ['run', 'status']) {
        const level = await runCli(['--config', file, command], { ...process.env, LOG_LEVEL: 'verbose' });
        assert.equal(level.code, 2, `${command}: ${level.stderr}`);
        assert.equal(
          level.stderr,
          `cti-agent: invalid agent config ${file} with its environment:\n  LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent, got "verbose"\n`,
          command,
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a damaged outbox database: a message naming it (exit 1), not a stack trace', {
    timeout: 90_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cti-cfg-'));
    try {
      const file = join(dir, 'agent.json');
      writeFileSync(
        file,
        JSON.stringify({
          device_code: 'dev-0001',
          data_dir: dir,
          source: { kind: 'simulated', pattern: 'synthetic' },
          upload: { bucket: 'cti-test', enabled: false },
          http: { host: '127.0.0.1', port: 1 },
        }),
      );
      writeFileSync(join(dir, 'outbox.db'), 'this is not a SQLite database\n'.repeat(200));
      for (const args of [['outbox', 'list'], ['status']]) {
        const { code, stderr } = await runCli(['--config', file, ...args], process.env);
        assert.equal(code, 1, `${args.join(' ')}: ${stderr}`);
        assert.match(stderr, /outbox database .*outbox\.db cannot be opened: file is not a database\. Fix:/);
        assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a missing outbox database: read-only and mutating commands refuse (exit 1) and create nothing', {
    timeout: 90_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cti-cfg-'));
    try {
      const file = join(dir, 'agent.json');
      const dataDir = join(dir, 'lib-cit'); // a typo for the real data_dir
      writeFileSync(
        file,
        JSON.stringify({
          device_code: 'dev-0001',
          data_dir: dataDir,
          source: { kind: 'simulated', pattern: 'synthetic' },
          upload: { bucket: 'cti-test', enabled: false },
          http: { host: '127.0.0.1', port: 1 },
        }),
      );
      for (const args of [
        ['outbox', 'list'],
        ['outbox', 'show', 'cap_x'],
        ['outbox', 'quarantine'],
        ['outbox', 'retry'],
        ['status'],
      ]) {
        const { code, stdout, stderr } = await runCli(['--config', file, ...args], process.env);
        assert.equal(code, 1, `${args.join(' ')}: ${stderr}`);
        assert.equal(stdout, '', args.join(' '));
        assert.equal(
          stderr,
          `cti-agent: outbox database ${join(dataDir, 'outbox.db')} does not exist; nothing was created. ` +
            `Fix: check data_dir in ${file} (or --config / CTI_AGENT_CONFIG); the service creates it at its first start\n`,
        );
        assert.equal(existsSync(dataDir), false, `${args.join(' ')} created ${dataDir}`);
      }
      // No or an unknown sub-command: the usage, before the database is looked for.
      for (const [args, first] of [
        [['outbox'], 'usage: cti-agent outbox <command>\n'],
        [
          ['outbox', 'frobnicate'],
          'unknown outbox command "frobnicate"\nusage: cti-agent outbox <command>\n',
        ],
      ] as const) {
        const { code, stdout, stderr } = await runCli(['--config', file, ...args], process.env);
        assert.equal(code, 2, `${args.join(' ')}: ${stderr}`);
        assert.equal(stdout, '', args.join(' '));
        assert.ok(stderr.startsWith(first), `${args.join(' ')}: ${stderr}`);
        assert.doesNotMatch(stderr, /outbox database/, args.join(' '));
      }
      for (const args of [
        ['outbox', '--help'],
        ['outbox', 'help'],
      ]) {
        const { code, stdout, stderr } = await runCli(['--config', file, ...args], process.env);
        assert.equal(code, 0, `${args.join(' ')}: ${stderr}`);
        assert.ok(stdout.startsWith('usage: cti-agent outbox <command>\n'), `${args.join(' ')}: ${stdout}`);
      }
      assert.equal(existsSync(dataDir), false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('-h and --help print the usage (exit 0) without reading the config', { timeout: 90_000 }, async () => {
    for (const flag of ['-h', '--help', 'help']) {
      const { code, stdout, stderr } = await runCli(
        ['--config', '/nonexistent/agent.json', flag],
        process.env,
      );
      assert.equal(code, 0, `${flag}: ${stderr}`);
      assert.match(stdout, /^usage: cti-agent \[--config <file>\] <command>/, flag);
      assert.equal(stderr, '', flag);
    }
    // The outbox's usage too, and a sub-command's --help (review r25: a missing config gave exit 2
    // "cannot read agent config", `outbox list --help` looked for the database and exited 1).
    for (const [args, exit] of [
      [['outbox', '--help'], 0],
      [['outbox', 'list', '--help'], 0],
      [['outbox', 'show', '-h'], 0],
      [['outbox'], 2],
      [['outbox', 'frobnicate'], 2],
    ] as const) {
      const { code, stdout, stderr } = await runCli(
        ['--config', '/nonexistent/agent.json', ...args],
        process.env,
      );
      assert.equal(code, exit, `${args.join(' ')}: ${stderr}`);
      assert.match(exit === 0 ? stdout : stderr, /usage: cti-agent outbox <command>/, args.join(' '));
      assert.doesNotMatch(stderr, /agent config|outbox database/, args.join(' '));
    }
  });

  test('an unknown option is a usage error (exit 2) reported before the config is read', {
    timeout: 90_000,
  }, async () => {
    for (const args of [
      ['--x'],
      ['--config', '/nonexistent/agent.json', '--x', 'status'],
      ['--x', 'status'],
    ]) {
      const { code, stdout, stderr } = await runCli(args, {
        ...process.env,
        CTI_AGENT_CONFIG: '/nonexistent/agent.json',
      });
      assert.equal(code, 2, args.join(' '));
      assert.match(
        stderr,
        /^cti-agent: unknown option "--x"\nusage: cti-agent \[--config <file>\] <command>/,
        args.join(' '),
      );
      assert.doesNotMatch(stderr, /agent config/, args.join(' '));
      assert.equal(stdout, '');
    }
  });

  test('a command that takes nothing refuses what follows it (exit 2), before the config is read', {
    timeout: 90_000,
  }, async () => {
    for (const [args, said] of [
      [['status', '--x'], 'status takes no arguments: unknown option "--x"'],
      [['capture', 'now'], 'capture takes no arguments: unknown argument "now"'],
      [
        ['doctor', '--config', '/nonexistent/agent.json', '--verbose'],
        'doctor takes no arguments: unknown option "--verbose"',
      ],
    ] as const) {
      const { code, stdout, stderr } = await runCli([...args], {
        ...process.env,
        CTI_AGENT_CONFIG: '/nonexistent/agent.json',
      });
      assert.equal(code, 2, args.join(' '));
      assert.ok(stderr.startsWith(`cti-agent: ${said}\nusage: cti-agent`), stderr);
      assert.equal(stdout, '');
    }
  });
});

// A button the agent cannot open no longer ends `run` (review r20 F10, cli-button-down.test.ts); a
// trigger config that is invalid still does, at once, before anything is opened.
describe('cti-agent run with an invalid capture trigger', () => {
  for (const [trigger, problem] of [
    [{ kind: 'gpio', bcm: 64 }, /invalid agent config .*agent\.json:\n\s+\/trigger\/bcm: must be <= 63/],
    [{ kind: 'gpio' }, /\/trigger\/bcm: is required/],
  ] as const) {
    test(`${JSON.stringify(trigger)}: exits 2 naming the setting, no stack trace, nothing written`, {
      timeout: 90_000,
    }, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'cti-bad-trigger-'));
      try {
        const file = join(dir, 'agent.json');
        const dataDir = join(dir, 'data');
        writeFileSync(
          file,
          JSON.stringify({
            device_code: 'dev-0001',
            data_dir: dataDir,
            source: { kind: 'simulated', pattern: 'synthetic' },
            trigger,
            sysfs_root: join(dir, 'sys'),
            hint: { enabled: false },
            upload: { bucket: 'cti-test', enabled: false },
          }),
        );
        const { code, stderr } = await runCli(['--config', file, 'run'], { ...process.env, PATH: dir });
        assert.equal(code, 2, stderr);
        assert.match(stderr, problem);
        assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
        assert.equal(existsSync(join(dataDir, 'outbox.db')), false);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

describe('cti-agent doctor', () => {
  test('reports each check with a fix: Pi 5 GPIO lines resolved by doctor itself (no agent running), S3 unreachable, service down', {
    timeout: 90_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cti-doctor-'));
    try {
      const file = join(dir, 'agent.json');
      const sysfs = join(dirname(cli), '..', 'test-fixtures', 'sysfs', 'pi5-kernel-6.6');
      writeFileSync(
        file,
        JSON.stringify({
          device_code: 'dev-0001',
          data_dir: dir,
          source: { kind: 'serial', path: join(dir, 'no-probe') },
          trigger: { kind: 'gpio', bcm: 17 },
          led: { bcm: 27 },
          sysfs_root: sysfs,
          hint: { enabled: false },
          upload: { bucket: 'cti-test', endpoint: 'http://127.0.0.1:9', region: 'us-east-1' },
          outbox: { min_free_mb: 1 },
          // Nothing listens on port 1: "service down" even where an agent runs on the default 8787 (a demo).
          http: { host: '127.0.0.1', port: 1 },
        }),
      );
      const { code, stdout } = await runCli(['--config', file, 'doctor'], {
        ...process.env,
        AWS_ACCESS_KEY_ID: 'x',
        AWS_SECRET_ACCESS_KEY: 'y',
      });
      assert.equal(code, 1);
      assert.match(stdout, /\[ OK \] config/);
      // No agent answers: doctor checks the lines itself, and says so.
      assert.match(
        stdout,
        /\[ OK \] gpio button\s+BCM 17 = sysfs line 588 on pinctrl-rp1 \(base 571\); checked by doctor itself: no agent is running\n/,
      );
      assert.match(
        stdout,
        /\[ OK \] gpio led\s+BCM 27 = sysfs line 598 on pinctrl-rp1 \(base 571\); checked by doctor itself: no agent is running\n/,
      );
      assert.match(stdout, /\[FAIL\] probe .*no-probe does not exist\n\s+fix: plug in the probe/);
      assert.match(stdout, /\[FAIL\] s3 .*\n\s+fix: check network access to S3/);
      assert.match(stdout, /\[ OK \] disk/);
      assert.match(stdout, /\[FAIL\] service\s+not running\n\s+fix: start it/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cti-agent doctor: the view gate (not_a_ribeye_view)', () => {
  test('reports the hint with its view card and the threshold in effect; warns when the gate is off', {
    timeout: 120_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cti-doctor-view-'));
    try {
      const models = (await import('@cti/models')).DEFAULT_MODELS_DIR;
      const view = JSON.parse(readFileSync(join(models, 'ribeye-view.card.json'), 'utf8'));
      const hintCard = JSON.parse(readFileSync(join(models, 'ribeye-hint.card.json'), 'utf8'));
      // A hint installed without its view card (what the .deb shipped before it kept the card).
      const bare = join(dir, 'bare-models');
      mkdirSync(bare);
      for (const f of ['ribeye-hint.card.json', hintCard.file]) copyFileSync(join(models, f), join(bare, f));
      const doctor = async (extra: object) => {
        const file = join(dir, 'agent.json');
        writeFileSync(
          file,
          JSON.stringify({
            device_code: 'dev-0001',
            data_dir: dir,
            source: { kind: 'simulated' },
            upload: { bucket: 'cti-test', enabled: false },
            outbox: { min_free_mb: 1 },
            http: { host: '127.0.0.1', port: 1 },
            ...extra,
          }),
        );
        const { stdout } = await runCli(['--config', file, 'doctor'], process.env);
        return stdout;
      };
      const own = await doctor({});
      assert.match(own, /\[ OK \] hint\s+hint model ribeye-hint@\S+ loads\n/);
      assert.match(
        own,
        new RegExp(
          `\\[ OK \\] view gate\\s+ribeye-view@${view.version} threshold ${view.threshold} \\(the view card’s\\)\\n`,
        ),
      );
      const configured = await doctor({ capture: { quality_gate: { min_ribeye_view: 0.9 } } });
      assert.match(
        configured,
        /\[ OK \] view gate\s+ribeye-view@\S+ threshold 0\.9 \(capture\.quality_gate\.min_ribeye_view\)\n/,
      );
      const noCard = await doctor({ hint: { model_path: join(bare, 'ribeye-hint.card.json') } });
      assert.match(noCard, /\[ OK \] hint\s+hint model ribeye-hint@\S+ loads\n/);
      assert.match(
        noCard,
        /\[WARN\] view gate\s+off: the hint model has no view card beside it, so wrong views .* are captured\n\s+fix: put ribeye-view\.card\.json/,
      );
      const disabled = await doctor({
        hint: { enabled: false },
        capture: { quality_gate: { min_ribeye_view: 0.9 } },
      });
      assert.match(
        disabled,
        /\[WARN\] view gate\s+off: the hint is disabled in config, so wrong views are captured \(capture\.quality_gate\.min_ribeye_view 0\.9 has no effect\)\n\s+fix: /,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cti-agent hint <image>', () => {
  /** A 512×384 frame of the simulated probe as a PNG in `dir`. */
  async function phantomFramePng(dir: string): Promise<string> {
    const { createPhantomStream } = await import('@cti/imaging');
    const sharp = (await import('sharp')).default;
    const frame = createPhantomStream({ seed: 3, width: 512, height: 384 }).next(0);
    const png = join(dir, 'phantom.png');
    await sharp(Buffer.from(frame.image.data), {
      raw: { width: 512, height: 384, channels: frame.image.channels },
    })
      .png()
      .toFile(png);
    return png;
  }

  /** A minimal agent config in `dir` (with `extra` settings merged in); returns its path. */
  function writeAgentConfig(dir: string, extra: object = {}): string {
    const file = join(dir, 'agent.json');
    writeFileSync(
      file,
      JSON.stringify({
        device_code: 'dev-1',
        data_dir: dir,
        source: { kind: 'simulated' },
        upload: { bucket: 'cti-test' },
        ...extra,
      }),
    );
    return file;
  }

  test('runs the on-device hint model on a phantom PNG and prints the inference_summary a capture would carry', {
    timeout: 90_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cti-hint-'));
    try {
      const png = await phantomFramePng(dir);
      const file = writeAgentConfig(dir);
      const { code, stdout, stderr } = await runCli(['--config', file, 'hint', png], process.env);
      assert.equal(code, 0, stderr);
      const out = JSON.parse(stdout);
      const [x0, y0, x1, y1] = out.ribeyeBbox as number[];
      assert.ok(x0! < x1! && y0! < y1! && x1! <= 512 && y1! <= 384, `box ${out.ribeyeBbox}`);
      assert.ok(out.score >= 0 && out.score <= 1);
      assert.match(out.model, /^ribeye-hint@\d+\.\d+\.\d+$/);
      assert.deepEqual(out.inference_summary.ribeye_bbox, out.ribeyeBbox);
      assert.equal(out.inference_summary.mask_iou_hint, out.score);
      assert.match(out.inference_summary.model.sha256, /^[0-9a-f]{64}$/);
      const missing = await runCli(['--config', file, 'hint'], process.env);
      assert.equal(missing.code, 2);
      assert.match(missing.stderr, /usage: cti-agent hint/);
      // Not an image (empty, truncated, a directory): one line naming it, exit 2, no stack trace.
      const empty = join(dir, 'empty.png');
      writeFileSync(empty, '');
      const truncated = join(dir, 'truncated.png');
      writeFileSync(truncated, readFileSync(png).subarray(0, 60));
      for (const [image, problem] of [
        [empty, /empty\.png: empty input, not an image/],
        [truncated, /truncated\.png: not a decodable image/],
        [dir, /cannot read file \(EISDIR\)/],
      ] as const) {
        const bad = await runCli(['--config', file, 'hint', image], process.env);
        assert.equal(bad.code, 2, bad.stderr);
        assert.match(bad.stderr, problem);
        assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("prints beside the model's verdict the decision this agent's view gate takes (min_ribeye_view, gate off)", {
    timeout: 120_000,
  }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cti-hint-gate-'));
    try {
      const { DEFAULT_MODELS_DIR: models } = await import('@cti/models');
      const png = await phantomFramePng(dir);
      const bare = join(dir, 'bare-models');
      mkdirSync(bare);
      const hintCard = JSON.parse(readFileSync(join(models, 'ribeye-hint.card.json'), 'utf8'));
      for (const f of ['ribeye-hint.card.json', hintCard.file]) copyFileSync(join(models, f), join(bare, f));
      const hint = async (extra: object) => {
        const file = writeAgentConfig(dir, extra);
        const { code, stdout, stderr } = await runCli(['--config', file, 'hint', png], process.env);
        assert.equal(code, 0, stderr);
        return JSON.parse(stdout);
      };
      const own = await hint({});
      assert.ok(own.view.ribeyeView < 1, `ribeyeView ${own.view.ribeyeView}`);
      assert.equal(own.gate.ok, own.view.accepted, 'same decision as the model with no override');
      assert.equal(
        own.gate.threshold,
        own.view.threshold,
        "the view card's threshold when none is configured",
      );
      // min_ribeye_view 1: the model still says what it says; the capture would be refused.
      const strict = await hint({ capture: { quality_gate: { min_ribeye_view: 1 } } });
      assert.equal(strict.view.ribeyeView, own.view.ribeyeView);
      assert.equal(strict.gate.ok, false);
      assert.equal(strict.gate.reason, 'not_a_ribeye_view');
      assert.equal(strict.gate.threshold, 1);
      assert.match(strict.gate.message, /^not a ribeye view \(ribeye_view [\d.]+ < 1\.00/);
      const lax = await hint({ capture: { quality_gate: { min_ribeye_view: 0 } } });
      assert.deepEqual(lax.gate, { ok: true, threshold: 0 });
      for (const [extra, off] of [
        [
          { capture: { quality_gate: { enabled: false, min_ribeye_view: 1 } } },
          /^capture\.quality_gate\.enabled is false$/,
        ],
        [
          { hint: { enabled: false }, capture: { quality_gate: { min_ribeye_view: 1 } } },
          /^hint\.enabled is false/,
        ],
        [
          { hint: { model_path: join(bare, 'ribeye-hint.card.json') } },
          /^no view card beside the hint model$/,
        ],
      ] as const) {
        const out = await hint(extra);
        assert.equal(out.gate.ok, true, JSON.stringify(extra));
        assert.equal(out.gate.threshold, null);
        assert.match(out.gate.off, off);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
