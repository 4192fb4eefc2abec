import { execFileSync } from 'node:child_process';

/** Tests spawn the real `bin/taskino.js`, which runs the built `dist/`: build it once per test run. */
export default function setup(): void {
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
}
