import { ConfigWatcher } from './config-watcher.js';
import type { LoadContext } from './task-file.js';
import { readTaskTexts, TaskTextsParser, type LoadedTasks } from './task-sources.js';

/**
 * Where task definitions come from: mounted files (below), or annotated ConfigMaps through the API
 * (KubeTaskSource in ../kube/kube-task-source.ts, loaded only with --kube: the Kubernetes client
 * alone would add tens of MB to every sidecar).
 */
export interface TaskSource {
  readonly description: string;
  /**
   * Invalid definitions at start-up: files are read by a person at start-up, so `run` stops and
   * says why (false); ConfigMaps belong to a running cluster, so `run` starts with none of its own
   * and says why (true).
   */
  readonly startsWithInvalidDefinitions: boolean;
  /** Resolves once a first load is possible; afterwards calls `onChange` whenever it may differ. */
  start(onChange: () => void): Promise<void>;
  load(context: LoadContext): LoadedTasks;
  /** Why the source is not current, or undefined. */
  problem(): string | undefined;
  stop(): Promise<void>;
}

export class FileTaskSource implements TaskSource {
  readonly description: string;
  readonly startsWithInvalidDefinitions = false;
  private watcher: ConfigWatcher | undefined;
  private readonly parser = new TaskTextsParser();

  constructor(
    private readonly paths: string[],
    private readonly pollMs = 5_000,
  ) {
    this.description = `files ${paths.join(', ')}`;
  }

  async start(onChange: () => void): Promise<void> {
    this.watcher = new ConfigWatcher(this.paths, onChange, { pollMs: this.pollMs });
    this.watcher.start();
  }

  load(context: LoadContext): LoadedTasks {
    const read = readTaskTexts(this.paths);
    return this.parser.merge(read.texts, context, read.version, read.problems);
  }

  problem(): undefined {
    return undefined;
  }

  async stop(): Promise<void> {
    this.watcher?.stop();
  }
}
