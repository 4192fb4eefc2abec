// The chart: p99 lateness and commands per fire against the number of every-second tasks, one line
// per system and replica count, rendered to SVG by Vega-Lite headless (no browser, no native code).
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { derive } from './derive.js';
import type { RunResult } from './measure.js';
import { LABEL } from './systems.js';

type Layer = Extract<TopLevelSpec, { layer: unknown[] }>['layer'][number];

interface Point {
  system: string;
  replicas: string;
  series: string;
  tasks: number;
  p99: number;
  commandsPerFire: number;
}

export async function renderChart(runs: RunResult[], title: string): Promise<string | undefined> {
  const points: Point[] = runs
    .filter((r) => !r.error && r.fires && Number.isFinite(r.fires.p99))
    .map((r) => ({
      system: LABEL[r.kind],
      replicas: `${r.replicas} replica${r.replicas > 1 ? 's' : ''}`,
      series: `${LABEL[r.kind]}, ${r.replicas}r`,
      tasks: r.tasks,
      // A log scale cannot show 0 ms: draw it at 0.5 ms.
      p99: Math.max(0.5, r.fires!.p99),
      commandsPerFire: derive(r).commandsPerFire,
    }));
  if (points.length === 0) return undefined;
  const encoding = {
    x: { field: 'tasks', type: 'quantitative', scale: { type: 'log' }, title: 'tasks firing every second (fires/s)' },
    color: { field: 'system', type: 'nominal', title: 'system' },
    strokeDash: { field: 'replicas', type: 'nominal', title: 'replicas' },
    detail: { field: 'series', type: 'nominal' },
  } as const;
  /** A dashed grey line at the target. */
  const target = (y: number, label: string): Layer => ({
    data: { values: [{ y, label }] },
    layer: [
      { mark: { type: 'rule', color: 'grey', strokeDash: [4, 4] }, encoding: { y: { field: 'y', type: 'quantitative' } } },
      { mark: { type: 'text', align: 'left', dx: 4, dy: -6, color: 'grey' }, encoding: { y: { field: 'y', type: 'quantitative' }, x: { value: 0 }, text: { field: 'label' } } },
    ],
  });
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    hconcat: [
      {
        width: 360,
        height: 260,
        layer: [
          {
            data: { values: points },
            mark: { type: 'line', point: true },
            encoding: { ...encoding, y: { field: 'p99', type: 'quantitative', scale: { type: 'log' }, title: 'p99 start lateness (ms, log)' } },
          },
          target(10, 'target: 10 ms at 1,000 tasks, 3 replicas'),
        ],
      },
      {
        width: 360,
        height: 260,
        layer: [
          {
            data: { values: points.filter((p) => Number.isFinite(p.commandsPerFire)) },
            mark: { type: 'line', point: true },
            encoding: { ...encoding, y: { field: 'commandsPerFire', type: 'quantitative', title: 'Redis commands per fire (cluster)' } },
          },
          target(1.5, 'target: 1.5'),
        ],
      },
    ],
    resolve: { scale: { color: 'shared', strokeDash: 'shared' } },
    config: { background: 'white' },
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
