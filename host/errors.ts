/** Exit codes of the irqmon CLI (documented in docs/cli.md). */
export const EXIT_OK = 0;
/** The thing checked failed: incompatible code, result mismatch, scenario failed. */
export const EXIT_FAILED = 1;
/** Bad input: wrong arguments, a broken policy/scenario file, a corrupt journal. */
export const EXIT_USAGE = 2;
/** The device could not be reached: missing port, permission denied, board not answering. */
export const EXIT_DEVICE = 3;
/** A timeout expired (job did not finish, no boot frame). */
export const EXIT_TIMEOUT = 4;
/** Interrupted by the user (Ctrl-C). */
export const EXIT_INTERRUPTED = 130;

/**
 * An error meant for a person: printed as one line ("irqmon: <message>"), never with a stack,
 * and mapped to an exit code. Anything else that escapes is a bug and is printed with its stack.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_USAGE,
  ) {
    super(message);
  }
}
