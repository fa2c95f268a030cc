/**
 * `npm run build`: builds firmware/dist/irqmon.js and irqmon.min.js from firmware/src/main.ts
 * and prints the size report (see firmware/build/cli.ts for the options, docs/check.md for the steps).
 */
import { runBuildCli } from './cli.ts';
import { gateBuildOutputs } from './interpreter-gate.ts';

const status = await runBuildCli(process.argv.slice(2));
// the real interpreter, when present, judges what the checker passed
process.exitCode = status === 0 ? await gateBuildOutputs(process.argv.slice(2)) : status;
