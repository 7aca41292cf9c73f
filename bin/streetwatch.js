#!/usr/bin/env node
// The `streetwatch` CLI. TypeScript sources run through tsx's loader (no build step in the checkout).
import { register } from 'tsx/esm/api';

register();
// `streetwatch … | head` closes the pipe early: that is not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
