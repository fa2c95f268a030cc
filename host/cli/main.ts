import { Command, CommanderError } from 'commander';
import { EXIT_OK, EXIT_USAGE, UserError } from '../errors.ts';
import { COMMANDS } from './commands/index.ts';

/** Builds the command tree; each subcommand lives in host/cli/commands/<name>.ts. */
export function buildProgram(): Command {
  const program = new Command('irqmon')
    .description('Interrupt, fault and recovery monitor for Espruino boards (virtual board by default)')
    .version(readVersion());
  for (const register of COMMANDS) register(program);
  return program;
}

function readVersion(): string {
  return '0.1.0';
}

/** Applies exitOverride to the whole tree (commander only applies it where it is called). */
export function exitOverrideAll(cmd: Command): void {
  cmd.exitOverride();
  for (const sub of cmd.commands) exitOverrideAll(sub);
}

/** Runs the CLI and returns the exit code; errors meant for people never show a stack. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  exitOverrideAll(program);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed the message (or help/version, which exit 0)
      return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (err instanceof UserError) {
      process.stderr.write(`irqmon: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}
