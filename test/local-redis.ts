/** Debian's redis-server on a free loopback port, for the queue tests and the queue benchmark. */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/**
 * redis-server in `dir`, durable by default (an append-only file synced on every write, so a
 * restart keeps the queue); resolves once it accepts connections.
 */
export async function startRedis(port: number, dir: string, options: { durable?: boolean } = {}): Promise<ChildProcess> {
  const durable = (options.durable ?? true) ? ['--appendonly', 'yes', '--appendfsync', 'always'] : [];
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, ...durable, '--save', ''], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis-server did not start in 10 s')), 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('Ready to accept connections')) clearTimeout(timer), resolve();
    });
    child.on('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
  return child;
}
