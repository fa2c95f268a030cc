import type { Command } from 'commander';
import { EXIT_DEVICE, UserError } from '../../errors.ts';
import { listPorts } from '../../transport/ports.ts';

/** `irqmon ports`: serial ports on this machine, likely Espruino boards marked. */
export function register(program: Command): void {
  program
    .command('ports')
    .description('list serial ports; marks likely Espruino boards by USB vendor/product id')
    .option('--json', 'one JSON array')
    .action(async (opts: { json?: boolean }) => {
      let ports;
      try {
        ports = await listPorts();
      } catch (err) {
        throw new UserError(`cannot list serial ports: ${(err as Error).message}`, EXIT_DEVICE);
      }
      if (opts.json) {
        process.stdout.write(JSON.stringify(ports) + '\n');
        return;
      }
      if (ports.length === 0) {
        process.stdout.write(
          'No serial ports found. (Pseudo-terminals such as the one `irqmon sim` prints are never listed; pass them with --port.)\n',
        );
        return;
      }
      for (const p of ports) {
        const id = p.vendorId && p.productId ? `${p.vendorId}:${p.productId}` : '-';
        const mark = p.likely === 'espruino' ? 'ESPRUINO ' : p.likely === 'possible' ? 'possible ' : '';
        process.stdout.write(`${p.path.padEnd(22)} ${id.padEnd(10)} ${mark}${p.note ?? p.manufacturer ?? ''}\n`);
      }
    });
}
