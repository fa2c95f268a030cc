/**
 * `npm run build`: builds firmware/dist/irqmon.js and irqmon.min.js from firmware/src/main.ts
 * and prints the size report (see firmware/build/cli.ts for the options, docs/check.md for the steps).
 */
import { runBuildCli } from './cli.ts';

process.exitCode = await runBuildCli(process.argv.slice(2));
