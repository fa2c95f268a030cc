/**
 * The Espruino tools' upload sequence (FACTS section 6): reset, the program written to `.bootcde`
 * in ~1 KiB chunks (the first chunk creates the file at full size), then load(). Each line starts
 * with DLE so the board neither echoes it nor prints `=result`.
 */
import { quoteString } from './espruino-format.ts';

export const UPLOAD_CHUNK = 1024;

export function uploadLines(code: string, file = '.bootcde', chunk = UPLOAD_CHUNK): string[] {
  const lines = ['\x10reset();\n'];
  const total = code.length;
  if (total === 0) lines.push(`\x10require("Storage").write(${quoteString(file)}, "");\n`);
  for (let off = 0; off < total; off += chunk) {
    const part = code.slice(off, off + chunk);
    lines.push(`\x10require("Storage").write(${quoteString(file)}, ${quoteString(part)}, ${off}, ${total});\n`);
  }
  lines.push('\x10load();\n');
  return lines;
}
