import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../core/scheduler/types.js';
import type { LoadContext } from '../config/task-file.js';
import type { TaskSource } from '../config/task-source.js';
import { TaskTextsParser, type LoadedTasks } from '../config/task-sources.js';
import { ConfigMapSource } from './configmap-source.js';

// `run --kube` imports this module (and through it @kubernetes/client-node) on demand only.
export { resolveNamespace } from './configmap-source.js';

/** KUBECONFIG, ~/.kube/config, or the in-cluster service account; throws when none loads. */
export function loadKubeConfig(): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();
  return kubeConfig;
}

export class KubeTaskSource implements TaskSource {
  readonly description: string;
  readonly startsWithInvalidDefinitions = true;
  private readonly source: ConfigMapSource;
  private readonly parser = new TaskTextsParser();

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
    return this.parser.merge(this.source.texts(), context, this.source.version(), problems);
  }

  problem(): string | undefined {
    return this.source.problem();
  }

  stop(): Promise<void> {
    return this.source.stop();
  }
}
