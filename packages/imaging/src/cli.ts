#!/usr/bin/env node
import { writeFile } from 'node:fs/promises';
import sharp from 'sharp';
import { parseCli, type SampleCommand, USAGE, UsageError } from './cli-args.ts';
import { exportDataset } from './export/export-dataset.ts';
import { generatePhantom } from './phantom/generate-phantom.ts';

async function main(argv: string[]): Promise<number> {
  let cmd: ReturnType<typeof parseCli>;
  try {
    cmd = parseCli(argv);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`cti-phantom: ${message}\n${USAGE}\n`);
    return 2;
  }
  if (cmd.command === 'sample') return sample(cmd);
  const started = performance.now();
  let last = 0;
  const manifest = await exportDataset({
    ...cmd,
    onProgress(done, total) {
      if (done === total || performance.now() - last > 2000) {
        last = performance.now();
        process.stderr.write(`cti-phantom: ${done}/${total}\n`);
      }
    },
  });
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(
    `${JSON.stringify({ out: cmd.out, count: manifest.count, kinds: manifest.kinds, seconds: Math.round(seconds * 10) / 10 })}\n`,
  );
  return 0;
}

async function sample(cmd: SampleCommand): Promise<number> {
  const { image, labels } = generatePhantom({
    seed: cmd.seed,
    preset: cmd.preset,
    kind: cmd.kind,
    realism: cmd.realism,
    ...(cmd.size ?? {}),
    ...(cmd.maxSide ? { maxSide: cmd.maxSide } : {}),
  });
  await sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } })
    .png()
    .toFile(cmd.out);
  const { ribeyeMask: _mask, ...rest } = labels;
  if (cmd.labels) await writeFile(cmd.labels, `${JSON.stringify(rest, null, 1)}\n`);
  process.stdout.write(
    `${JSON.stringify({ out: cmd.out, kind: labels.kind, width: image.width, height: image.height, ribeye_bbox: labels.ribeyeBbox })}\n`,
  );
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(
      `cti-phantom: ${err instanceof UsageError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exitCode = 1;
  },
);
