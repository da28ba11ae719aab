/** Text as roff reads it literally: backslashes and hyphens escaped, no line taken for a request. */
function roffText(line: string): string {
  const escaped = line.replace(/\\/g, '\\e').replace(/-/g, '\\-');
  return /^[.']/.test(escaped) ? `\\&${escaped}` : escaped;
}

/**
 * cti-agent(1), made from the agent's own `--help` text at build time so the manual cannot drift from
 * the command, plus the files and documents the package installs.
 */
export function manPage({ usage, version, date }: { usage: string; version: string; date: Date }): string {
  const day = date.toISOString().slice(0, 10);
  return [
    `.TH CTI\\-AGENT 1 "${day}" "cti\\-agent ${roffText(version)}" "CTI"`,
    '.SH NAME',
    'cti\\-agent \\- CTI ultrasound capture agent for the Raspberry Pi',
    '.SH SYNOPSIS',
    '.B cti\\-agent',
    '[\\fB\\-\\-config\\fR \\fIfile\\fR] \\fIcommand\\fR [\\fIarguments\\fR]',
    '.SH DESCRIPTION',
    'The capture agent runs as the systemd service \\fBcti\\-agent.service\\fR; this command line',
    'takes captures through it, shows its status, checks the device and inspects the outbox.',
    '.SH USAGE',
    '.nf',
    ...usage.trimEnd().split('\n').map(roffText),
    '.fi',
    '.SH FILES',
    '.TP',
    '.I /etc/cti/agent.json',
    'configuration (a conffile: kept across upgrades)',
    '.TP',
    '.I /etc/cti/agent.env',
    'S3 credentials, read by systemd (mode 0640)',
    '.TP',
    '.I /var/lib/cti',
    'outbox database and spooled captures',
    '.SH SEE ALSO',
    '\\fBsystemctl\\fR(1), \\fBjournalctl\\fR(1), /usr/share/doc/cti\\-agent/agent.md',
    '',
  ].join('\n');
}
