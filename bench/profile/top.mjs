// Self time per function from .cpuprofile files, as % of all samples and µs per fire.
import { readFileSync } from 'node:fs';
const [fires, ...files] = process.argv.slice(2);
const self = new Map(); let total = 0; let totalUs = 0;
for (const file of files) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const dt = (p.endTime - p.startTime) / p.samples.length;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const hits = new Map(); for (const id of p.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
  for (const [id, n] of hits) {
    const node = byId.get(id); const cf = node.callFrame;
    const key = `${cf.functionName || '(anon)'} ${cf.url.split('/').slice(-2).join('/')}:${cf.lineNumber}`;
    self.set(key, (self.get(key) ?? 0) + n * dt); total += n; totalUs += n * dt;
  }
}
const idle = [...self].filter(([k]) => k.startsWith('(idle)')).reduce((a, [, v]) => a + v, 0);
const busy = totalUs - idle;
console.log(`busy ${(busy / 1000).toFixed(0)} ms over ${fires} fires: ${(busy / Number(fires)).toFixed(1)} µs/fire`);
for (const [k, v] of [...self].filter(([k]) => !k.startsWith('(idle)')).sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${(v / Number(fires)).toFixed(1).padStart(6)} µs/fire ${(100 * v / busy).toFixed(1).padStart(5)}%  ${k}`);
