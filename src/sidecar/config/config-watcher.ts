import { watch, type FSWatcher } from 'node:fs';
import { dirname } from 'node:path';
import { statSync } from 'node:fs';

/**
 * Calls `onChange` (debounced) when any watched file or directory may have changed. inotify
 * watches on the directories catch edits, renames and the kubelet's "..data" symlink swap; a slow
 * poll backs them up where events get lost (network file systems, editors that replace files).
 */
export class ConfigWatcher {
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;

  constructor(
    private readonly paths: string[],
    private readonly onChange: () => void,
    private readonly options: { debounceMs?: number; pollMs?: number } = {},
  ) {}

  start(): void {
    const dirs = new Set<string>();
    for (const path of this.paths) {
      try {
        dirs.add(statSync(path).isDirectory() ? path : dirname(path));
      } catch {
        dirs.add(dirname(path));
      }
    }
    for (const dir of dirs) {
      try {
        const watcher = watch(dir, () => this.schedule());
        watcher.on('error', () => {}); // the poll covers a directory that disappears
        this.watchers.push(watcher);
      } catch {
        // Missing directory: the poll notices when it appears.
      }
    }
    this.poll = setInterval(() => this.onChange(), this.options.pollMs ?? 5_000);
    this.poll.unref();
  }

  stop(): void {
    for (const w of this.watchers.splice(0)) w.close();
    if (this.timer) clearTimeout(this.timer);
    if (this.poll) clearInterval(this.poll);
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.onChange(), this.options.debounceMs ?? 200);
    this.timer.unref();
  }
}
