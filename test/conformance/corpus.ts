/**
 * The conformance corpus: console inputs in `corpus/*.txt`, read into groups.
 *
 * File format (one input per line; the file name is the category):
 *
 *   # a comment
 *   ## group name          a new session: a fresh interpreter with an erased flash, a fresh board
 *   @fw                    the inputs that follow are reachable from the firmware's own code path
 *   @nofw                  ... until this (or the next group)
 *   @wait MS               the next input: wait MS before the end marker (timers, async output)
 *   @apart PROFILES: WHY   the next input is counted apart on PROFILES (`generic,pico` or `*`):
 *                          the virtual board cannot or should not follow, for the reason given
 *   json "..."             one input given as a JSON string (control bytes, several lines)
 *   anything else          one input line, sent followed by "\n"
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface CorpusInput {
  /** `file:line`, stable across runs. */
  id: string;
  category: string;
  /** Bytes sent (latin1), without the final newline the runner adds. */
  text: string;
  firmware: boolean;
  waitMs: number;
  /** profile -> reason, for inputs counted apart on that profile ('*' = all). */
  apart: Record<string, string>;
}

export interface CorpusGroup {
  name: string;
  category: string;
  inputs: CorpusInput[];
}

export const CORPUS_DIR = new URL('./corpus/', import.meta.url).pathname;

export function parseCorpusFile(text: string, category: string, file: string): CorpusGroup[] {
  const groups: CorpusGroup[] = [];
  let group: CorpusGroup | null = null;
  let fw = false;
  let wait = 0;
  let apart: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].replace(/\r$/, '');
    const where = `${file}:${i + 1}`;
    if (!raw.trim()) continue;
    if (raw.startsWith('## ')) {
      group = { name: raw.slice(3).trim(), category, inputs: [] };
      groups.push(group);
      fw = false;
      continue;
    }
    if (raw.startsWith('#')) continue;
    if (raw === '@fw') {
      fw = true;
      continue;
    }
    if (raw === '@nofw') {
      fw = false;
      continue;
    }
    let m = /^@wait (\d+)$/.exec(raw);
    if (m) {
      wait = Number(m[1]);
      continue;
    }
    m = /^@apart ([\w*,]+): (.+)$/.exec(raw);
    if (m) {
      for (const p of m[1].split(',')) apart[p] = m[2];
      continue;
    }
    if (raw.startsWith('@')) throw new Error(`${where}: unknown directive ${raw}`);
    let input = raw;
    if (raw.startsWith('json ')) {
      try {
        input = JSON.parse(raw.slice(5)) as string;
      } catch (e) {
        throw new Error(`${where}: bad json input: ${(e as Error).message}`);
      }
    }
    if (!group) {
      group = { name: category, category, inputs: [] };
      groups.push(group);
    }
    group.inputs.push({ id: where, category, text: input, firmware: fw, waitMs: wait, apart });
    wait = 0;
    apart = {};
  }
  return groups.filter((g) => g.inputs.length);
}

export function loadCorpus(dir = CORPUS_DIR): CorpusGroup[] {
  const out: CorpusGroup[] = [];
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.txt')).sort()) {
    out.push(...parseCorpusFile(readFileSync(join(dir, f), 'utf8'), f.replace(/\.txt$/, ''), f));
  }
  return out;
}

/** Why an input is counted apart on a profile, or undefined. */
export function apartReason(input: CorpusInput, profile: string): string | undefined {
  return input.apart[profile] ?? input.apart['*'];
}
