/** The demo's server (npm run demo) ends with the process that started it, even when that one is killed outright. */
import { spawn } from 'node:child_process';
import { expect, it } from 'vitest';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

it('the demo server stops when its parent shell is killed', async () => {
  // As npm runs it: a shell that starts the server and waits; the shell reports the server's pid.
  const shell = spawn('sh', ['-c', 'node scripts/demo.mjs & echo "pid $!"; wait'], { env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  shell.stdout.on('data', (d) => (out += String(d)));
  const started = Date.now();
  while (!/shrinkray demo: http:\/\/localhost:\d+\//.test(out) && Date.now() - started < 90_000) await new Promise((r) => setTimeout(r, 100));
  expect(out).toMatch(/shrinkray demo: http:\/\/localhost:[1-9]\d*\//);
  const server = Number(/pid (\d+)/.exec(out)![1]);
  expect(alive(server)).toBe(true);
  shell.kill('SIGKILL'); // the server gets no signal; only its parent disappears
  const killed = Date.now();
  while (alive(server) && Date.now() - killed < 10_000) await new Promise((r) => setTimeout(r, 100));
  expect(alive(server)).toBe(false);
}, 120_000);
