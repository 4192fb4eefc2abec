// tsc does not copy non-TS files; the Redis store loads its Lua scripts from beside its module.
import { cpSync, mkdirSync } from 'node:fs';
mkdirSync('dist/core/store/redis/lua', { recursive: true });
cpSync('src/core/store/redis/lua', 'dist/core/store/redis/lua', { recursive: true });
