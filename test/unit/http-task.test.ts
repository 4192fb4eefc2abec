import { describe, expect, it } from 'vitest';
import { appPath } from '../../src/sidecar/http/http-task.js';

describe('task paths', () => {
  it('are relative to the app URL, including its own path (review finding)', () => {
    expect(appPath('/jobs/x', new URL('http://127.0.0.1:8080')).href).toBe('http://127.0.0.1:8080/jobs/x');
    expect(appPath('/jobs/x?dry=1', new URL('http://127.0.0.1:8080/api')).href).toBe('http://127.0.0.1:8080/api/jobs/x?dry=1');
    expect(appPath('/jobs/x', new URL('http://127.0.0.1:8080/api/')).href).toBe('http://127.0.0.1:8080/api/jobs/x');
  });
});
