/**
 * `irqmon sim --espruino BIN`: a real Espruino interpreter (the Linux build) behind the same two
 * pseudo-terminals as the virtual board's sim, so every command that takes `--port`/`--feed`
 * (flash, monitor, state, hil, campaign, replay --on-device) drives it exactly as a board.
 *
 * - console pty <-> the interpreter's REPL (stdin/stdout, paced at --baud);
 * - Serial1 pty: the far end of the interpreter's Serial1, whose own device the firmware opens by
 *   path (`<dir>/serial1`; `irqmon flash --serial1 PATH` keeps that path on the board);
 * - the interpreter exiting (E.reboot(), a crash) is a reset: it is started again in --dir, flash
 *   kept; `--control` takes {"inject":"power-cut"} (SIGKILL, then start again) and "pin-reset";
 * - `--usb-drop`: the console path disappears while the interpreter is down.
 * Ctrl-C ends the interpreter and both helpers; a temporary --dir is removed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT_OK, EXIT_USAGE, UserError } from '../../errors.ts';
import { PtyPort } from '../../board/pty/pty-port.ts';
import { EspruinoProcess, ESPRUINO_INJECTIONS } from '../../device/espruino-process.ts';
import type { SimOptions } from './sim.ts';

export interface RunningEspruinoSim {
  espruino: EspruinoProcess;
  console: PtyPort;
  serial1: PtyPort;
  banner(): string;
  untilSignal(): Promise<number>;
  stop(): Promise<void>;
}

export async function startEspruinoSim(opts: SimOptions, openPty: (link: string | undefined, what: string) => Promise<PtyPort>): Promise<RunningEspruinoSim> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'irqmon-espruino-'));
  const proc = new EspruinoProcess({ bin: opts.espruino!, dir, baud: opts.baud, fast: opts.fast, usbDrop: opts.usbDrop });
  const cleanups: (() => Promise<void> | void)[] = [];
  const runCleanups = async () => {
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        process.stderr.write(`irqmon sim: cleanup: ${(err as Error).message}\n`);
      }
    }
  };
  if (!opts.dir) cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  try {
    const consolePort = await openPty(opts.link, 'console');
    cleanups.push(() => consolePort.close());
    const serial1Port = await openPty(opts.serial1Link, 'Serial1');
    cleanups.push(() => serial1Port.close());
    cleanups.push(() => proc.stop());

    proc.on('console', (b: Buffer) => consolePort.write(b));
    proc.on('serial1', (b: Buffer) => serial1Port.write(b));
    consolePort.on('data', (b: Buffer) => proc.consoleWrite(b));
    serial1Port.on('data', (b: Buffer) => proc.serial1Write(b));
    const report = (err: Error) => process.stderr.write(`irqmon sim: ${err.message}\n`);
    for (const e of [consolePort, serial1Port, proc]) e.on('error', report);
    proc.on('reset', (e: { cause: string; stderr?: string }) => {
      process.stderr.write(`reset: ${e.cause}${e.stderr ? ` (${e.stderr.trim().split('\n').pop()})` : ''}\n`);
    });
    proc.on('console-gone', () => void consolePort.drop());
    proc.on('console-back', () => {
      consolePort.reopen().catch(report);
    });

    let control: Server | undefined;
    let shutdown: (() => void) | undefined;
    if (opts.control) {
      control = await listenControl(opts.control, proc, () => shutdown?.());
      cleanups.push(() => new Promise<void>((r) => control!.close(() => r())));
      cleanups.push(() => rmSync(opts.control!, { force: true }));
    }
    await proc.powerOn();

    let stopping: Promise<void> | undefined;
    const stop = () => (stopping ??= runCleanups());
    return {
      espruino: proc,
      console: consolePort,
      serial1: serial1Port,
      banner() {
        const lines = [`irqmon sim: real Espruino interpreter ${opts.espruino} in ${dir}${opts.dir ? '' : ' (temporary)'}, ${opts.fast ? 'fast' : `${opts.baud} baud`}`];
        lines.push(`console: ${consolePort.path}${opts.link ? ` (link ${opts.link})` : ''}`);
        lines.push(`serial1: ${serial1Port.path}${opts.serial1Link ? ` (link ${opts.serial1Link})` : ''}`);
        lines.push(`board's Serial1 device: ${proc.serial1Path} (irqmon flash --serial1 ${proc.serial1Path})`);
        if (opts.control) lines.push(`control: ${opts.control}`);
        lines.push('Ctrl-C to stop');
        return lines.join('\n') + '\n';
      },
      untilSignal() {
        return new Promise<number>((resolve) => {
          const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
          let signalled = false;
          const onSignal = () => {
            if (signalled) return;
            signalled = true;
            void stop().then(() => {
              for (const s of signals) process.off(s, onSignal);
              setTimeout(() => process.exit(EXIT_OK), 2000).unref();
              resolve(EXIT_OK);
            });
          };
          shutdown = onSignal;
          for (const s of signals) process.on(s, onSignal);
        });
      },
      stop,
    };
  } catch (err) {
    await runCleanups();
    throw err;
  }
}

/**
 * The control socket, as the virtual board's sim has it (one JSON object per line each way):
 * {"inject":"power-cut"|"pin-reset"}, {"status":true}, {"subscribe":true}, {"shutdown":true}.
 */
async function listenControl(path: string, proc: EspruinoProcess, shutdown: () => void): Promise<Server> {
  rmSync(path, { force: true });
  const subscribers = new Set<Socket>();
  const send = (sock: Socket, msg: object) => {
    if (!sock.destroyed) sock.write(JSON.stringify(msg) + '\n');
  };
  for (const ev of ['reset', 'boot']) proc.on(ev, (detail: unknown) => subscribers.forEach((s) => send(s, { event: ev, detail })));
  const handle = (sock: Socket, line: string): object => {
    let req: Record<string, unknown>;
    try {
      req = JSON.parse(line);
      if (typeof req !== 'object' || req === null || Array.isArray(req)) throw new Error('not an object');
    } catch (err) {
      return { ok: false, error: `bad request (expected one JSON object per line): ${(err as Error).message}` };
    }
    const id = req.id === undefined ? {} : { id: req.id };
    try {
      if (req.inject !== undefined) {
        const kind = typeof req.inject === 'string' ? req.inject : (req.inject as { kind?: unknown })?.kind;
        return { ok: true, ...id, injected: kind, result: proc.inject(String(kind) as 'power-cut') };
      }
      if (req.status) return { ok: true, ...id, status: { board: 'espruino', injections: ESPRUINO_INJECTIONS, bin: proc.bin, dir: proc.dir, state: proc.state, boots: proc.boots, pid: proc.pid ?? null, serial1Device: proc.serial1Path } };
      if (req.subscribe) {
        subscribers.add(sock);
        return { ok: true, ...id, subscribed: true };
      }
      if (req.shutdown) {
        setImmediate(shutdown);
        return { ok: true, ...id, shuttingDown: true };
      }
      return { ok: false, ...id, error: 'unknown request; expected one of inject, status, subscribe, shutdown' };
    } catch (err) {
      return { ok: false, ...id, error: (err as Error).message };
    }
  };
  const server = createServer((sock) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      buf += chunk;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) send(sock, handle(sock, line));
      }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => subscribers.delete(sock));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new UserError(`--control ${path}: ${err.message}`, EXIT_USAGE)));
    server.listen(path, () => resolve());
  });
  return server;
}
