import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { digestOf } from '../../core/definitions.js';
import type { ConfigProblem } from './config-error.js';
import { parseTaskFile, type LoadContext, type SidecarTaskSpec } from './task-file.js';

export interface LoadedTasks {
  tasks: SidecarTaskSpec[];
  problems: ConfigProblem[];
  files: string[];
  /** The set's version: newest file modification time in ms, or the ConfigMaps' resourceVersion. */
  version: number;
  /** Changes exactly when the content of the set changes. */
  digest: string;
}

const TASK_FILE = /\.(ya?ml|json)$/;

/**
 * Reads task files and directories (a mounted ConfigMap: its data keys appear as files, and the
 * kubelet's "..data" bookkeeping entries start with a dot and are skipped). All files merge into
 * one set; any problem anywhere rejects the whole set.
 */
export function loadTaskSources(paths: string[], context: LoadContext): LoadedTasks {
  const read = readTaskTexts(paths);
  return mergeTaskTexts(read.texts, context, read.version, read.problems);
}

/** The task files under `paths` as text, with the newest modification time and what could not be read. */
export function readTaskTexts(paths: string[]): { texts: TaskText[]; version: number; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const unreadable = (file: string, error: unknown): void => {
    problems.push({ file, message: `cannot read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` });
  };
  const files: string[] = [];
  for (const path of paths) {
    try {
      if (statSync(path).isDirectory()) {
        const entries = readdirSync(path).filter((name) => !name.startsWith('.') && TASK_FILE.test(name)).sort();
        if (entries.length === 0) problems.push({ file: path, message: 'the directory holds no .yaml, .yml or .json task file' });
        files.push(...entries.map((name) => join(path, name)));
      } else {
        files.push(path);
      }
    } catch (error) {
      unreadable(path, error);
    }
  }
  const texts: TaskText[] = [];
  let version = 0;
  for (const file of files) {
    try {
      texts.push({ file, text: readFileSync(file, 'utf8') });
      version = Math.max(version, Math.floor(statSync(file).mtimeMs));
    } catch (error) {
      unreadable(file, error);
    }
  }
  return { texts, version, problems };
}

/**
 * mergeTaskTexts that returns the previous result while its input has not changed. A running
 * sidecar re-reads its files every few seconds in case a change event was lost: parsing 1,000
 * tasks costs about 60 ms of CPU (and its garbage), reading and hashing them well under 1 ms.
 */
export class TaskTextsParser {
  private last: { input: string; context: LoadContext; loaded: LoadedTasks } | undefined;

  merge(texts: TaskText[], context: LoadContext, version: number, problems: ConfigProblem[] = []): LoadedTasks {
    const input = digestOf([texts.flatMap((t) => [t.file, t.text]), problems, version]);
    const last = this.last;
    if (last && last.input === input && sameContext(last.context, context)) return last.loaded;
    const loaded = mergeTaskTexts(texts, context, version, problems);
    this.last = { input, context, loaded };
    return loaded;
  }
}

function sameContext(a: LoadContext, b: LoadContext): boolean {
  return a.env === b.env && a.appUrl.href === b.appUrl.href && a.allowHosts.join(' ') === b.allowHosts.join(' ');
}

/** A task file's content and the name errors should give it (a path, or configmap/NAME/KEY). */
export interface TaskText {
  file: string;
  text: string;
}

/** Parses and merges task files; a duplicate name across files, like any problem, rejects the set. */
export function mergeTaskTexts(texts: TaskText[], context: LoadContext, version: number, problems: ConfigProblem[] = []): LoadedTasks {
  const tasks: SidecarTaskSpec[] = [];
  const origin = new Map<string, string>();
  for (const { file, text } of texts) {
    const parsed = parseTaskFile(text, file, context);
    problems.push(...parsed.problems);
    for (const task of parsed.tasks) {
      const first = origin.get(task.name);
      if (first !== undefined) {
        problems.push({ file, task: task.name, field: 'name', message: `duplicate task name: "${task.name}" is also defined in ${first}` });
      } else {
        origin.set(task.name, file);
        tasks.push(task);
      }
    }
  }
  const files = texts.map((t) => t.file);
  return { tasks: problems.length > 0 ? [] : tasks, problems, files, version, digest: digestOf([texts.flatMap((t) => [t.file, t.text]), problems]) };
}
