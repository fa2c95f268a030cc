import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { EXIT_FAILED, EXIT_USAGE, UserError } from '../../errors.ts';
import { checkSource, formatFindings, SourceSyntaxError, type Finding } from '../../check/index.ts';

interface FileResult {
  file: string;
  findings: Finding[];
  /** Set when the file could not be read or is not valid JavaScript. */
  error?: { message: string; line?: number; column?: number };
}

/**
 * `irqmon check FILE...`: reports every construct an Espruino board cannot run (docs/check.md).
 * Exit 0 when all files are clean, 1 when there are findings, 2 when a file is unreadable or not
 * valid JavaScript (that wins over findings in other files).
 */
export function register(program: Command): void {
  program
    .command('check')
    .description('check JavaScript files for constructs Espruino cannot run (docs/check.md); exit 1 on findings')
    .argument('<file...>', 'JavaScript files to check')
    .option('--json', 'print the results as one JSON object: {ok, files: [{file, findings, error?}]}')
    .action((files: string[], opts: { json?: boolean }) => {
      const results = files.map(checkFile);
      // warnings (heuristics, docs/check.md) are listed but do not fail the check
      const findingCount = results.reduce((n, r) => n + r.findings.filter((f) => f.severity === 'error').length, 0);
      const warningCount = results.reduce((n, r) => n + r.findings.length, 0) - findingCount;
      const warned = warningCount > 0 ? ` (and ${warningCount} warning(s) to review)` : '';
      const broken = results.filter((r) => r.error);
      if (opts.json) {
        process.stdout.write(JSON.stringify({ ok: findingCount === 0 && broken.length === 0, files: results }, null, 2) + '\n');
      } else {
        for (const r of results) {
          if (r.error) process.stderr.write(r.error.message + '\n');
          else if (r.findings.length > 0) process.stdout.write(formatFindings(r.findings) + '\n');
        }
      }
      if (broken.length > 0) {
        throw new UserError(`${broken.length} of ${files.length} file(s) could not be checked: ${broken.map((r) => r.file).join(', ')}`, EXIT_USAGE);
      }
      if (findingCount > 0) {
        const dirty = results.filter((r) => r.findings.some((f) => f.severity === 'error')).length;
        throw new UserError(`${findingCount} Espruino incompatibilit${findingCount === 1 ? 'y' : 'ies'} in ${dirty} of ${files.length} file(s)${warned}`, EXIT_FAILED);
      }
      if (!opts.json) process.stdout.write(`${files.length} file(s) checked: no Espruino incompatibilities${warned}\n`);
    });
}

function checkFile(file: string): FileResult {
  let code: string;
  try {
    code = readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    return { file, findings: [], error: { message: `${file}: cannot read: ${reason}` } };
  }
  try {
    return { file, findings: checkSource(code, file, { warnings: true }) };
  } catch (err) {
    if (err instanceof SourceSyntaxError) {
      return { file, findings: [], error: { message: err.message, line: err.line, column: err.column } };
    }
    throw err;
  }
}
