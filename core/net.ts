import { createServer } from 'node:net';

/**
 * A TCP port on `host` that was free a moment ago: bound, read, closed. Also serves tests as a "closed port"
 * for connection-refused cases, since nothing listens on it after this returns.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const s = createServer();
  await new Promise<void>((r, j) => {
    s.once('error', j);
    s.listen(0, host, r);
  });
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}
