import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../core/scheduler/types.js';
import { ConfigMapSource } from '../kube/configmap-source.js';
import { ConfigWatcher } from './config-watcher.js';
import type { LoadContext } from './task-file.js';
import { loadTaskSources, mergeTaskTexts, type LoadedTasks } from './task-sources.js';

/** Where task definitions come from: mounted files, or annotated ConfigMaps through the API. */
export interface TaskSource {
  readonly description: string;
  /** Resolves once a first load is possible; afterwards calls `onChange` whenever it may differ. */
  start(onChange: () => void): Promise<void>;
  load(context: LoadContext): LoadedTasks;
  /** Why the source is not current, or undefined. */
  problem(): string | undefined;
  stop(): Promise<void>;
}

export class FileTaskSource implements TaskSource {
  readonly description: string;
  private watcher: ConfigWatcher | undefined;

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
    return loadTaskSources(this.paths, context);
  }

  problem(): undefined {
    return undefined;
  }

  async stop(): Promise<void> {
    this.watcher?.stop();
  }
}

export class KubeTaskSource implements TaskSource {
  readonly description: string;
  private readonly source: ConfigMapSource;

  constructor(kubeConfig: KubeConfig, namespace: string, scheduler: string, logger: Logger) {
    this.description = `ConfigMaps annotated taskino.io/scheduler=${scheduler} in namespace ${namespace}`;
    this.source = new ConfigMapSource({ kubeConfig, namespace, scheduler, logger });
  }

  start(onChange: () => void): Promise<void> {
    return this.source.start(onChange);
  }

  load(context: LoadContext): LoadedTasks {
    const problems = this.source.emptyConfigMaps().map((name) => ({
      file: `configmap/${name}`,
      message: 'holds no .yaml, .yml or .json key: annotated ConfigMaps must contain task files (delete or un-annotate it to remove its tasks)',
    }));
    return mergeTaskTexts(this.source.texts(), context, this.source.version(), problems);
  }

  problem(): string | undefined {
    return this.source.problem();
  }

  stop(): Promise<void> {
    return this.source.stop();
  }
}
