import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { VirtualClock } from '../../host/clock/clock.ts';
import { DEFAULT_FIRMWARE, openDevice, type Device } from '../../host/device/device.ts';
import { FlashInterruptedError, describeHolds, flashProgram, inspectBoard } from '../../host/flash/flasher.ts';
import { ReplConsole } from '../../host/flash/repl-console.ts';
import { CHUNK_WRITER, byteStringLiteral, chunkWriterDefinition, truncationHazard, writerChunkLine } from '../../host/flash/repl-code.ts';

const firmware = readFileSync(DEFAULT_FIRMWARE, 'latin1');
const hashOf = (code: string) => /"([0-9a-f]{8})"/.exec(code.slice(code.indexOf('0.1.0') - 200))?.[1];
const originalHash = JSON.parse(readFileSync(new URL('../../firmware/dist/size.json', import.meta.url), 'utf8')).hash as string;
/** The same firmware with another build hash in its boot frame: "a new version". */
const newFirmware = firmware.split(originalHash).join('0badc0de');
const bytes = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));

/** 'generic' has 128 KiB of Storage: room for the staged copy (pico's 48 KiB falls back to direct). */
async function virtualBoard(board = 'generic'): Promise<{ dev: Device; clock: VirtualClock }> {
  const clock = new VirtualClock();
  const dev = await openDevice({ clock, board, fast: true });
  return { dev, clock };
}

/** Power-cycles the board and reports what it boots: a firmware hash, or 'repl'. */
async function bootAfterPowerCycle(dev: Device, clock: VirtualClock): Promise<string> {
  const repl = new ReplConsole(dev.transport, clock);
  try {
    const boot = repl.waitForBoot(3000);
    dev.board!.powerOn();
    try {
      return (await boot).body.hash;
    } catch {
      // no boot frame: is it the REPL answering?
      const ans = repl.waitFor((l) => l.includes('@@alive'), 1000);
      await dev.transport.write('\x10print("@@al"+"ive")\n');
      await ans;
      return 'repl';
    }
  } finally {
    repl.detach();
  }
}

describe('byte string literal', () => {
  it('round-trips every byte value through a JS string literal', () => {
    const all = new Uint8Array(256).map((_, i) => i);
    const lit = byteStringLiteral(all);
    expect(/[\x00-\x1f\x7f-\xff]/.test(lit)).toBe(false);
    const back = new Function(`return ${lit}`)() as string;
    expect(Buffer.from(back, 'latin1')).toEqual(Buffer.from(all));
  });
});

describe('chunk lines', () => {
  it('quote the chunk with the quote character it holds fewer of, escaping it in two bytes', () => {
    const text = 'a="x";b="y";c=\'z\';d="\\\n"';
    const lit = byteStringLiteral(Buffer.from(text, 'latin1'));
    expect(lit.startsWith("'")).toBe(true);
    expect(lit).toBe(`'a="x";b="y";c=\\'z\\';d="\\\\\\n"'`);
    expect(new Function(`return ${lit}`)()).toBe(text);
    expect(byteStringLiteral(Buffer.from("it's", 'latin1'))).toBe(`"it's"`);
  });

  it('send a chunk with ~20 bytes of overhead through the writer defined once on the board', () => {
    const chunk = Buffer.from('var irqmon=1;', 'latin1');
    const line = writerChunkLine(chunk, 2048, '7');
    expect(line).toBe(`\x10${CHUNK_WRITER}(7,"var irqmon=1;",2048)\n`);
    // The definition prints the marker by concatenation: its text never holds "@@irqfl:7:".
    expect(chunkWriterDefinition('.bootnew', 16341)).not.toMatch(/@@irqfl:\d/);
  });
});

describe('truncation hazard', () => {
  it('accepts the firmware bundle (one effective statement) and flags a two-statement program', () => {
    expect(truncationHazard(firmware)).toBeNull();
    expect(truncationHazard('var a;\nfunction f(){}\n(function(){ f(); })();')).toBeNull();
    expect(truncationHazard('print(1);\nprint(2);')).toMatch(/statement 1 of 2 \(line 1\)/);
  });
});

describe('irqmon flash on a virtual board', () => {
  it('uploads, verifies the CRC, restarts and the new firmware boots (and boots again after a power cycle)', async () => {
    const { dev, clock } = await virtualBoard();
    try {
      const phases: string[] = [];
      const r = await flashProgram({ transport: dev.transport, clock, program: bytes(firmware), onProgress: (p) => void phases.push(p.phase) });
      expect(r.crc).toBe(crc32(Buffer.from(firmware, 'latin1')) >>> 0);
      expect(r.chunks).toBe(Math.ceil(firmware.length / 1024));
      expect(r.boot?.body.hash).toBe(originalHash);
      expect(new Set(phases)).toEqual(new Set(['prepare', 'upload', 'verify', 'switch', 'restart']));
      // what the board stores is exactly the file, and the staging copy is gone
      expect(dev.board!.storage.read('.bootcde')).toBe(firmware);
      expect(dev.board!.storage.read('.bootnew')).toBeUndefined();
      expect(await bootAfterPowerCycle(dev, clock)).toBe(originalHash);
    } finally {
      await dev.close();
      clock.stop();
    }
  });

  /**
   * The board's console, with chunk line number n (1-based sends) damaged on the way when
   * `damage(n)` says how: 'end' (its newline never arrives), 'whole' (nothing of it arrives) or
   * 'garble' (every "a" arrives as "b": still a valid line, with other bytes in the chunk).
   */
  function lossyConsole(dev: Device, damage: (n: number) => 'end' | 'whole' | 'garble' | null) {
    let lines = 0;
    let how: ReturnType<typeof damage> = null;
    return new Proxy(dev.transport, {
      get(target, prop) {
        if (prop === 'write') {
          return (data: string | Uint8Array) => {
            let text = typeof data === 'string' ? data : Buffer.from(data).toString('latin1');
            if (text.startsWith(`\x10${CHUNK_WRITER}(`) || text.startsWith('\x10var ' + CHUNK_WRITER)) how = damage(++lines);
            const current = how;
            if (text.endsWith('\n')) how = null;
            if (current === 'whole' || (current === 'end' && text.endsWith('\n'))) return Promise.resolve(true);
            if (current === 'garble') text = text.replace(/a/g, 'b');
            return target.write(text);
          };
        }
        const v = (target as any)[prop];
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  }

  it('a chunk line that loses its end is cleared and the flash completes', async () => {
    const { dev, clock } = await virtualBoard();
    try {
      const transport = lossyConsole(dev, (n) => (n === 3 || n === 4 ? 'end' : null));
      const r = await flashProgram({ transport, clock, program: bytes(firmware) });
      expect(r.boot?.body.hash).toBe(originalHash);
      expect(dev.board!.storage.read('.bootcde')).toBe(firmware);
    } finally {
      await dev.close();
      clock.stop();
    }
  });

  it('a chunk line lost on the way is sent again, slower each time (up to four sends), and the flash completes', async () => {
    const { dev, clock } = await virtualBoard();
    try {
      const transport = lossyConsole(dev, (n) => (n === 3 || n === 4 || n === 5 ? 'whole' : null));
      const r = await flashProgram({ transport, clock, program: bytes(firmware) });
      expect(r.boot?.body.hash).toBe(originalHash);
      expect(dev.board!.storage.read('.bootcde')).toBe(firmware);
    } finally {
      await dev.close();
      clock.stop();
    }
  });

  it('a chunk that went in with other bytes (a garbled line) makes the upload start over, and the flash completes', async () => {
    const { dev, clock } = await virtualBoard();
    try {
      let sends = 0;
      // Chunk 3's line arrives garbled: the writer's answer carries the CRC of what it wrote.
      const transport = lossyConsole(dev, (n) => {
        sends = n;
        return n === 3 ? 'garble' : null;
      });
      const r = await flashProgram({ transport, clock, program: bytes(firmware) });
      expect(r.boot?.body.hash).toBe(originalHash);
      expect(dev.board!.storage.read('.bootcde')).toBe(firmware);
      expect(sends).toBeGreaterThan(r.chunks);
    } finally {
      await dev.close();
      clock.stop();
    }
  });

  it('a chunk line lost four times stops the upload, naming the chunk and what the board said last', async () => {
    const { dev, clock } = await virtualBoard();
    try {
      const transport = lossyConsole(dev, (n) => (n >= 3 ? 'whole' : null));
      const err = await flashProgram({ transport, clock, program: bytes(firmware) }).catch((e) => e);
      expect(err).toBeInstanceOf(FlashInterruptedError);
      expect(err.message).toMatch(/chunk 3\/\d+, 2048\/\d+ bytes confirmed/);
      expect(err.message).toMatch(/did not answer within \d+ ms/);
      expect(await bootAfterPowerCycle(dev, clock)).toBe('repl');
    } finally {
      await dev.close();
      clock.stop();
    }
  });

  it('a reset in the middle of the upload leaves the previous program booting, and says so', async () => {
    const { dev, clock } = await virtualBoard();
    try {
      await flashProgram({ transport: dev.transport, clock, program: bytes(firmware) });
      const err = await flashProgram({
        transport: dev.transport,
        clock,
        program: bytes(newFirmware),
        onProgress: (p) => {
          if (p.phase === 'upload' && p.chunk === 7) dev.board!.inject({ kind: 'pin-reset' });
        },
      }).catch((e) => e);
      expect(err).toBeInstanceOf(FlashInterruptedError);
      expect(err.phase).toBe('upload');
      const chunks = Math.ceil(newFirmware.length / 1024);
      expect(err.message).toMatch(new RegExp(`chunk (8|9)/${chunks}, (7168|8192)/${newFirmware.length} bytes confirmed`));
      expect(err.message).toMatch(/the board reset|did not answer/);
      expect(err.message).toMatch(/\.bootcde was not touched.*boots its previous program/);
      const holds = await inspectBoard(dev.transport, clock, { crc: err.programCrc, previous: err.previous });
      expect(holds.verdict).toBe('previous');
      expect(describeHolds(holds)).toMatch(/previous program/);
      expect(await bootAfterPowerCycle(dev, clock)).toBe(originalHash);
      // and a second attempt completes
      const r = await flashProgram({ transport: dev.transport, clock, program: bytes(newFirmware) });
      expect(r.boot?.body.hash).toBe('0badc0de');
    } finally {
      await dev.close();
      clock.stop();
    }
  });

  it('a power cut at any flash operation of the switch boots the new program or the REPL, never a torn one', async () => {
    // Sweep the cut over the switch's flash operations (delete old, header, data words, erase staging).
    const seen = new Set<string>();
    for (let k = 0; k < 5; k++) {
      const { dev, clock } = await virtualBoard();
      try {
        await flashProgram({ transport: dev.transport, clock, program: bytes(firmware) });
        let armed = false;
        const err = await flashProgram({
          transport: dev.transport,
          clock,
          program: bytes(newFirmware),
          onProgress: (p) => {
            if (p.phase === 'switch' && !armed) {
              armed = true;
              // the switch copies ~22 KB: spread the cuts over its whole span
              dev.board!.inject({ kind: 'power-cut', atFlashOp: dev.board!.flash.opCount + 1 + k * 1300 });
            }
          },
        }).catch((e) => e);
        const booted = await bootAfterPowerCycle(dev, clock);
        seen.add(booted);
        if (err instanceof FlashInterruptedError) {
          expect(err.phase).toBe('switch');
          expect(err.message).toMatch(/new program, or no \.bootcde \(REPL\)/);
          expect(['0badc0de', 'repl']).toContain(booted);
        } else {
          // the cut landed after the switch (e.g. on the staging erase or after): new program
          expect(booted).toBe('0badc0de');
        }
      } finally {
        await dev.close();
        clock.stop();
      }
    }
    expect(seen.has('repl')).toBe(true);
    expect([...seen].every((s) => s === 'repl' || s === '0badc0de')).toBe(true);
  });

  it('falls back to a direct upload when Storage cannot hold two copies (pico), and still boots it', async () => {
    const { dev, clock } = await virtualBoard('pico');
    try {
      await flashProgram({ transport: dev.transport, clock, program: bytes(firmware) });
      // 26 KB: two copies cannot share the Pico's 48 KiB of Storage (whatever the bundle's size today).
      const big = newFirmware + '\n/*' + ' '.repeat(Math.max(0, 26_000 - newFirmware.length)) + '*/\n';
      const r = await flashProgram({ transport: dev.transport, clock, program: bytes(big) });
      expect(r.mode).toBe('direct');
      expect(r.previous?.crc).toBe(crc32(Buffer.from(firmware, 'latin1')) >>> 0);
      expect(r.boot?.body.hash).toBe('0badc0de');
    } finally {
      await dev.close();
      clock.stop();
    }
  });

  it('direct mode cut midway: the board starts at the REPL and the error says the old program is gone', async () => {
    const { dev, clock } = await virtualBoard();
    try {
      await flashProgram({ transport: dev.transport, clock, program: bytes(firmware) });
      const err = await flashProgram({
        transport: dev.transport,
        clock,
        mode: 'direct',
        program: bytes(newFirmware),
        onProgress: (p) => {
          // Cut, and left off long enough for the upload to give up (a board back within seconds
          // is picked up where it stopped: its file keeps what was confirmed).
          if (p.phase === 'upload' && p.chunk === 10) dev.board!.inject({ kind: 'power-cut', offMs: 120_000 });
        },
      }).catch((e) => e);
      expect(err).toBeInstanceOf(FlashInterruptedError);
      expect(err.message).toMatch(/previous program is gone; a torn copy cannot run/);
      dev.board!.powerOn();
      const holds = await inspectBoard(dev.transport, clock, { crc: err.programCrc, previous: err.previous });
      expect(holds.verdict).toBe('torn');
      expect(await bootAfterPowerCycle(dev, clock)).toBe('repl');
    } finally {
      await dev.close();
      clock.stop();
    }
  });
});
