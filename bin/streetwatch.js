#!/usr/bin/env node
// The `streetwatch` CLI. TypeScript sources run through tsx's loader (no build step in the checkout).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
