import { LuaScript } from './lua-script.js';

/** Every Lua script of the Redis store, loaded once per process. */
export const scripts = {
  claim: LuaScript.load('claim'),
  claimManual: LuaScript.load('claim-manual'),
  renewLease: LuaScript.load('renew-lease'),
  complete: LuaScript.load('complete'),
  publish: LuaScript.load('publish'),
  sync: LuaScript.load('sync'),
  setPause: LuaScript.load('set-pause'),
  restoreEpoch: LuaScript.load('restore-epoch'),
  restoreDefinitions: LuaScript.load('restore-definitions'),
  restoreTask: LuaScript.load('restore-task'),
  restorePause: LuaScript.load('restore-pause'),
};

/** A time for a script argument: whole ms, or '' when unknown. */
export function msOrBlank(ms: number | undefined): string | number {
  return ms === undefined ? '' : Math.round(ms);
}
