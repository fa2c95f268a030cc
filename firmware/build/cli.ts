/**
 * The command line of `npm run build`: options --entry FILE, --out DIR, --budget BYTES.
 * Returns the exit status: 0 built, 1 the build failed (one message, no stack trace), 2 bad options.
 */
import { BuildError, buildFirmware, formatSizeReport, type BuildOptions } from './pipeline.ts';
import { HoistError } from './hoist.ts';

const USAGE = 'usage: npm run build -- [--entry FILE] [--out DIR] [--budget BYTES]';

export interface Output {
  out: (text: string) => void;
  err: (text: string) => void;
}

const STDIO: Output = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
};

export async function runBuildCli(argv: string[], io: Output = STDIO): Promise<number> {
  const parsed = parseArgs(argv);
  if (typeof parsed === 'string') {
    io.err(`irqmon build: ${parsed}\n${USAGE}\n`);
    return 2;
  }
  try {
    const result = await buildFirmware(parsed);
    io.out(formatSizeReport(result) + '\n');
    return 0;
  } catch (err) {
    if (err instanceof BuildError || err instanceof HoistError) {
      io.err(`irqmon build failed: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

/** The options, or a message saying what is wrong with the arguments. */
function parseArgs(argv: string[]): BuildOptions | string {
  const options: BuildOptions = {};
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag !== '--entry' && flag !== '--out' && flag !== '--budget') return `unknown argument "${flag}"`;
    if (value === undefined) return `${flag} needs a value`;
    if (flag === '--entry') options.entry = value;
    else if (flag === '--out') options.outDir = value;
    else {
      const n = Number(value);
      if (!Number.isInteger(n) || n <= 0) return `--budget must be a positive number of bytes, got "${value}"`;
      options.budgetBytes = n;
    }
  }
  return options;
}
