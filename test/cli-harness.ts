import { Writable } from 'node:stream';
import { main } from '../host/cli/main.ts';

/** Runs the irqmon CLI in-process; returns its exit code and what it wrote to stdout and stderr. */
export async function runCli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const o = process.stdout.write.bind(process.stdout);
  const e = process.stderr.write.bind(process.stderr);
  (process.stdout as any).write = (s: unknown) => ((out += String(s)), true);
  (process.stderr as any).write = (s: unknown) => ((err += String(s)), true);
  process.exitCode = undefined;
  try {
    return { code: await main(['node', 'irqmon', ...args]), out, err };
  } finally {
    (process.stdout as any).write = o;
    (process.stderr as any).write = e;
    process.exitCode = undefined;
  }
}

/** A stream that collects what is written to it (monitor output), so a failure shows the story. */
export function outputSink(): { stream: Writable; text: () => string } {
  let buf = '';
  return {
    stream: new Writable({
      write(chunk, _enc, cb) {
        buf += chunk.toString();
        cb();
      },
    }),
    text: () => buf,
  };
}
