import { createServer } from 'node:net';

/**
 * A loopback TCP port that was free a moment ago: bound, read, closed. Also serves as a "closed port" for
 * connection-refused tests, since nothing listens on it after this returns.
 */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r, j) => {
    s.once('error', j);
    s.listen(0, '127.0.0.1', r);
  });
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}
