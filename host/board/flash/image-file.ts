import { renameSync, writeFileSync } from 'node:fs';

/** Writes the image next to the target and renames it over, so a crash never leaves half a file. */
export function saveFlashImage(file: string, image: Uint8Array): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, image);
  renameSync(tmp, file);
}
