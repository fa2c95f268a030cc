/**
 * `npm run build`: builds firmware/dist/irqmon.js and irqmon.min.js from firmware/src/main.ts
 * and prints the size report. Options: --entry FILE, --out DIR, --budget BYTES.
 * Exit status: 0 built, 1 the build failed (message on stderr, no stack trace).
 */
import { BuildError, buildFirmware, formatSizeReport, type BuildOptions } from './pipeline.ts';
import { HoistError } from './hoist.ts';

function parseArgs(argv: string[]): BuildOptions {
  const options: BuildOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (value === undefined && flag.startsWith('--')) usage(`${flag} needs a value`);
    if (flag === '--entry') options.entry = value;
    else if (flag === '--out') options.outDir = value;
    else if (flag === '--budget') {
      const n = Number(value);
      if (!Number.isInteger(n) || n <= 0) usage(`--budget must be a positive number of bytes, got "${value}"`);
      options.budgetBytes = n;
    } else usage(`unknown argument "${flag}"`);
    i++;
  }
  return options;
}

function usage(problem: string): never {
  process.stderr.write(`irqmon build: ${problem}\nusage: npm run build -- [--entry FILE] [--out DIR] [--budget BYTES]\n`);
  process.exit(2);
}

try {
  const result = await buildFirmware(parseArgs(process.argv.slice(2)));
  process.stdout.write(formatSizeReport(result) + '\n');
} catch (err) {
  if (err instanceof BuildError || err instanceof HoistError) {
    process.stderr.write(`irqmon build failed: ${err.message}\n`);
    process.exitCode = 1;
  } else {
    throw err;
  }
}
