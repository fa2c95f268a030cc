#!/usr/bin/env node
// The CLI is written in TypeScript; tsx compiles it on load so the package needs no host build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../host/cli/main.ts');
process.exitCode = await main(process.argv);
