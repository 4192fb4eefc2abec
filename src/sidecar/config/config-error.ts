import { TaskinoError } from '../../core/errors.js';

/** One problem in a task file, located as precisely as the input allows. */
export interface ConfigProblem {
  file: string;
  /** The task's name, or "#N" (1-based) when it has none. */
  task?: string;
  /** Dotted path of the field, e.g. "http.expect". */
  field?: string;
  message: string;
}

export function formatProblem(p: ConfigProblem): string {
  const where = [p.file, p.task !== undefined ? `task ${p.task.startsWith('#') ? p.task : `"${p.task}"`}` : undefined, p.field]
    .filter((x) => x !== undefined)
    .join(': ');
  return `${where}: ${p.message}`;
}

/** A task file or set of files that cannot be loaded; lists every problem found. */
export class InvalidConfigError extends TaskinoError {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    super('INVALID_CONFIG', `invalid task definitions (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`);
    this.problems = problems;
  }
}
