import { type FenceOverlap, listFenceOverlaps } from '../access/geofence-overlaps.ts';
import { EXIT_CONFIG, EXIT_USAGE, type ServerCommand } from './command.ts';
import { commandDatabase, processIo } from './command-database.ts';
import { COMMAND_USAGE } from './command-usage.ts';

const farm = (f: { id: string; name: string }) => `${JSON.stringify(f.name)} (${f.id})`;
const area = (m2: number) => (m2 >= 10_000 ? `${(m2 / 10_000).toFixed(2)} ha` : `${Math.round(m2)} m²`);

function line(o: FenceOverlap): string {
  return `${farm(o.a)} and ${farm(o.b)}: ${area(o.area_m2)} in both geofences${o.nested ? ', one inside the other' : ''}\n`;
}

/**
 * `cti-server farm overlaps`: every pair of farms whose geofences overlap (more than 1 m²; a shared
 * boundary is not an overlap), largest first. A scan taken in an overlap gets no farm and is flagged to
 * the admins (ADR 0001 §5), so an admin runs this before an upgrade and after loading fences. Reads only
 * DATABASE_URL. Exit 0 (listed, or "no overlapping geofences" on stderr), 2 usage, 78 config.
 */
export function createFarmCommand({ io = processIo, env = process.env } = {}): ServerCommand {
  return {
    usage: COMMAND_USAGE.farm,
    async run(args) {
      if (args.length !== 1 || args[0] !== 'overlaps') {
        io.err(
          `${args.length ? `cti-server farm: unknown arguments ${JSON.stringify(args.join(' '))}\n` : ''}usage: cti-server ${COMMAND_USAGE.farm}\n`,
        );
        return EXIT_USAGE;
      }
      const sql = commandDatabase(env, io, 'cti-server farm');
      if (!sql) return EXIT_CONFIG;
      try {
        const overlaps = await listFenceOverlaps(sql);
        for (const o of overlaps) io.out(line(o));
        if (overlaps.length === 0) io.err('no overlapping geofences\n');
        return 0;
      } finally {
        await sql.end({ timeout: 5 });
      }
    },
  };
}

export const farmCommand = createFarmCommand();
