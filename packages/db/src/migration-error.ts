/**
 * Raised when migrations cannot be applied safely: an applied file was edited, is missing on disk,
 * a pending file is numbered below an applied one, or a migration's SQL failed. `problems` holds one
 * sentence per problem, each naming the file.
 */
export class MigrationError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[], options?: ErrorOptions) {
    super(
      problems.length === 1
        ? problems[0]!
        : `${problems.length} migration problems:\n- ${problems.join('\n- ')}`,
      options,
    );
    this.name = 'MigrationError';
    this.problems = problems;
  }
}
