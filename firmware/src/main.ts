/**
 * Firmware entry. The bundle's exports become the board's one global `irqmon`
 * (esbuild globalName); the host only ever calls `irqmon.cmd("<frame line>")`.
 */
import { createFirmware } from './core/firmware.ts';
import { createJournal } from './core/journal/journal.ts';
import { createEspruinoPort } from './port/espruino/port.ts';

const port = createEspruinoPort();
const fw = createFirmware(port, createJournal(port.journalStore, port));
fw.boot();

/** The link's command entry: one frame line from the host. Never evaluates anything. */
export function cmd(line: string): void {
  fw.cmd(line);
}
