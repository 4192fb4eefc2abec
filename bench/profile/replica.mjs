// A profiling replica for bench/profile/run.sh: N tasks firing every second, a no-op handler, default options.
import { Redis } from 'ioredis';
import { DistributedScheduler, RedisTaskStore, Task, Triggers, silentLogger } from '../../dist/index.js';
const [port, id, count, seconds] = process.argv.slice(2).map((v, i) => (i === 1 ? v : Number(v)));
const redis = new Redis(port, '127.0.0.1');
const s = new DistributedScheduler(new RedisTaskStore(redis, { scheduler: 'prof', recoveryWindowMs: 0 }), { logger: silentLogger, replicaId: id });
const late = [];
for (let i = 0; i < count; i++) s.register(Triggers.periodOf(new Date(0), undefined, 1), new Task(`t-${i}`, (ctx) => void late.push(Date.now() - ctx.scheduledAt.getTime())));
s.setVersion(1);
await s.start();
await new Promise((r) => setTimeout(r, seconds * 1000));
await s.stop();
redis.disconnect();
late.sort((a, b) => a - b);
console.log(JSON.stringify({ id, runs: late.length, p50: late[Math.floor(late.length * 0.5)], p99: late[Math.floor(late.length * 0.99)] }));
