import type { Command } from 'commander';
import { EXIT_USAGE, UserError } from '../../errors.ts';
import {
  DEFAULT_POLICY_FILE,
  formatPolicyError,
  readPolicyFile,
  summarizePolicy,
  writePolicyTemplate,
} from '../../recovery/policy-file.ts';
import { defaultPolicy, effectiveScenarios } from '../../recovery/policy.ts';

/** `irqmon policy init|check|show`: the recovery policy file (docs/policy.md). */
export function register(program: Command): void {
  const policy = program.command('policy').description('write, check and show recovery policy files (docs/policy.md)');

  policy
    .command('init')
    .description(`write an annotated policy template (YAML, or JSON when FILE ends in .json)`)
    .argument('[file]', 'where to write it', DEFAULT_POLICY_FILE)
    .option('--force', 'overwrite an existing file')
    .action((file: string, opts: { force?: boolean }) => {
      writePolicyTemplate(file, !!opts.force);
      process.stdout.write(`wrote ${file} (check it with: irqmon policy check ${file})\n`);
    });

  policy
    .command('check')
    .description('validate a policy file; names the line:column and field path of every error (exit 2)')
    .argument('<file>', 'policy file (.yaml, .yml or .json)')
    .option('--json', 'print {ok, errors, policy} as one JSON object')
    .action((file: string, opts: { json?: boolean }) => {
      const { policy: p, errors } = readPolicyFile(file);
      if (opts.json) {
        process.stdout.write(JSON.stringify({ ok: errors.length === 0, errors, policy: errors.length ? undefined : p }) + '\n');
        if (errors.length) throw new UserError(`${file}: the policy is not valid (errors listed in the JSON)`, EXIT_USAGE);
        return;
      }
      if (errors.length === 1 && errors[0].line === undefined && errors[0].path === '') {
        throw new UserError(formatPolicyError(errors[0]), EXIT_USAGE); // unreadable file: one line says it
      }
      if (errors.length) {
        for (const e of errors) process.stderr.write(formatPolicyError(e) + '\n');
        throw new UserError(
          `${file}: ${errors.length} error${errors.length === 1 ? '' : 's'}; the policy is not valid`,
          EXIT_USAGE,
        );
      }
      process.stdout.write(`${file}: valid: ${summarizePolicy(p)}\n`);
    });

  policy
    .command('show')
    .description('print the effective policy (defaults filled in, built-in scenario rules listed) as JSON')
    .argument('[file]', 'policy file; without it, the built-in defaults')
    .action((file: string | undefined) => {
      let p = defaultPolicy();
      if (file !== undefined) {
        const read = readPolicyFile(file);
        if (read.errors.length) {
          for (const e of read.errors) process.stderr.write(formatPolicyError(e) + '\n');
          throw new UserError(`${file}: the policy is not valid (irqmon policy check ${file})`, EXIT_USAGE);
        }
        p = read.policy;
      }
      process.stdout.write(JSON.stringify({ ...p, scenarios: effectiveScenarios(p) }, null, 2) + '\n');
    });
}
