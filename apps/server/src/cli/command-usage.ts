/**
 * The one-line usage of every `cti-server` sub-command, apart from the commands themselves: `--help`
 * lists them all without importing any command module (main.ts loads only the one that runs, so the
 * worker never loads the dashboard's pages and the server never loads the models).
 */
export const COMMAND_USAGE = {
  serve:
    'serve   (default) serve HTTP on PORT; with CTI_MIGRATE_ON_START=1 migrate first (meanwhile only /healthz answers 200).',
  migrate:
    'migrate [status]   apply pending migrations to DATABASE_URL (idempotent; the one-off job of an upgrade),\n' +
    '          or list applied/pending migrations and problems (exit 1 unless current); as `cti-db migrate|status`.',
  device:
    'device  add <code> [--label <text>] [--farm <id or name>] | rotate-secret <code> [--overlap 24h]\n' +
    '          | retire <code> [--reason <text>] | unretire <code> | list   (device keys; retiring revokes them)',
  farm: 'farm    overlaps   list the pairs of farms whose geofences overlap (a scan taken there gets no farm; ADR 0001 §5).',
  user: 'user add --email EMAIL --role admin|technician|farmer [--name "Full Name"]   (password: prompted, or first line of stdin)',
  worker:
    'worker  grade queued scans (segment, measure, grade, overlays) until SIGTERM; /healthz and /metrics on CTI_WORKER_PORT.',
  regrade:
    'regrade [--cancel] (--scan <scan uuid> | [--device <code>] [--since <date>] | --all) [--model-version <v>] [--dry-run]\n' +
    '          [--include-corrected]\n' +
    '          queue new grading jobs; every regrade adds a result, history is kept. Scans whose latest result\n' +
    '          was corrected by hand are left as they are unless --include-corrected. A version no worker has\n' +
    '          graded with in 24 h, or not the model installed here, is warned about (such jobs wait).\n' +
    "          --cancel: cancel the selection's waiting (unclaimed) regrade jobs, only those pinned to\n" +
    '          --model-version if given; a job a worker holds is left alone; prints each job cancelled.',
  calibration:
    'calibration set --device <code> [--pixel-spacing-mm <mm>] [--pixel-aspect <w/h>] [--image-size WxH]\n' +
    '          [--valid-from <date>] [--note <text>] [--regrade]\n' +
    '          | clear --device <code> [--image-size WxH] [--valid-from <date>] [--regrade] | list --device <code>\n' +
    "          a device's pixel spacing (mm per image pixel, vertical) for grading when meta.json does not carry one,\n" +
    '          its pixel aspect, or both (set needs at least one; clear withdraws both);\n' +
    "          --pixel-aspect: a pixel's width ÷ its height, 0.5–2 (0.889 for 720×480 of a 4:3 picture; default square);\n" +
    '          alone, the spacing comes from meta.json or the on-screen ruler (a scanner whose depth changes);\n' +
    '          --regrade also queues, in the same step, a regrade of each scan the row applies to (at most 10000).',
  'export-labels':
    'export-labels --out <dir> [--since <date>] [--farm <farm uuid>] [--all-corrections] [--dry-run]\n' +
    '          corrected masks (manual results) as training data: image + mask + label.json (lineage) per\n' +
    '          correction, manifest.jsonl; default the newest correction of each scan; re-runs skip what is\n' +
    '          already there; --dry-run only counts (no S3 request, nothing written).',
} as const;

export type CommandName = keyof typeof COMMAND_USAGE;
