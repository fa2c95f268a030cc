/**
 * NOR flash as a board has it: erase sets a whole page (sector) to 0xFF, a write can only clear
 * bits (the cell ends up as old AND new), writes are word (32-bit) aligned, and every operation
 * takes time. The page map comes from the board table (shared/boards.ts), so the virtual board and
 * the firmware agree on where pages start.
 *
 * Power cuts are modelled per operation: `armPowerCut(n)` tears operation number n at word
 * granularity (a write lands only its first k words, an erase resets only a prefix of the page),
 * after which the flash is dead (every access throws PowerCutError) until `powerRestored()`.
 */
import type { BoardInfo } from '../../../shared/boards.ts';

export interface FlashTiming {
  /** Modelled time to erase one page of `pageSize` bytes, in milliseconds. */
  eraseMs(pageSize: number): number;
  /** Modelled time to program one 32-bit word, in microseconds. */
  writeUsPerWord: number;
}

/**
 * Per-profile timings, datasheet typical values where the datasheet gives them.
 * - pico: STM32F401xD/E datasheet (DS10086), "Flash memory programming" table, x32 parallelism
 *   (VDD 2.7-3.6 V): sector erase 16 KB 250 ms typ, 64 KB 550 ms typ, 128 KB 1 s typ (2 s max);
 *   word program 16 us typ (100 us max).
 * - puck: nRF52832 Product Specification v1.4, NVMC electrical specification: t_ERASEPAGE 85 ms
 *   (4 KiB page), t_WRITE 41 us per 32-bit word (the spec gives these as max; no typ is listed).
 * - generic: a small serial NOR part (e.g. W25Q-class): 4 KiB sector erase ~45-50 ms typ, page
 *   program amortised to ~20 us per word. Used by boards the table does not name.
 */
export const FLASH_TIMING: { [profile: string]: FlashTiming } = {
  pico: {
    eraseMs(pageSize: number): number {
      if (pageSize <= 16 * 1024) return 250;
      if (pageSize <= 64 * 1024) return 550;
      return 1000;
    },
    writeUsPerWord: 16,
  },
  puck: {
    eraseMs(pageSize: number): number {
      return 85 * Math.max(1, pageSize / 4096);
    },
    writeUsPerWord: 41,
  },
  generic: {
    eraseMs(pageSize: number): number {
      return 50 * Math.max(1, pageSize / 4096);
    },
    writeUsPerWord: 20,
  },
};

/** Thrown by any flash operation once power has been cut (the op that tore, and all later ones). */
export class PowerCutError extends Error {
  constructor(message = 'Power cut: flash is unpowered') {
    super(message);
    this.name = 'PowerCutError';
  }
}

interface Page {
  addr: number;
  length: number;
}

interface ArmedCut {
  atOp: number;
  words?: number;
}

const WORD = 4;

export class NorFlash {
  readonly base: number;
  readonly size: number;
  readonly eraseCounts: number[];
  /** Write and erase operations performed so far; also the index of the next operation. */
  opCount = 0;
  /** Total modelled time spent in writes and erases, in milliseconds. */
  busyMs = 0;
  /** Called with the modelled duration of every operation (the board advances its clock). */
  onBusy?: (ms: number) => void;

  private readonly mem: Uint8Array;
  /** A Buffer view of `mem` (latin1 reads). */
  private readonly memText: Buffer;
  private readonly pages: Page[];
  private readonly timing: FlashTiming;
  private readonly rng: () => number;
  private armed: ArmedCut | undefined;
  private isDead = false;
  private imageLoads = 0;

  constructor(board: BoardInfo, opts: { timing?: FlashTiming; image?: Uint8Array; rng?: () => number } = {}) {
    this.base = board.flash.addr;
    this.size = board.flash.length;
    this.pages = expandPages(board);
    this.eraseCounts = this.pages.map(() => 0);
    this.timing = opts.timing ?? FLASH_TIMING[board.profile] ?? FLASH_TIMING.generic;
    this.rng = opts.rng ?? Math.random;
    this.mem = new Uint8Array(this.size).fill(0xff);
    this.memText = Buffer.from(this.mem.buffer, this.mem.byteOffset, this.mem.length);
    if (opts.image) {
      if (opts.image.length !== this.size) {
        throw new Error(`Flash image is ${opts.image.length} bytes; board ${board.profile} has ${this.size} bytes of flash`);
      }
      this.mem.set(opts.image);
    }
  }

  get dead(): boolean {
    return this.isDead;
  }

  /** The page map (copies), in address order. */
  get pageMap(): { addr: number; length: number }[] {
    return this.pages.map((p) => ({ addr: p.addr, length: p.length }));
  }

  read(addr: number, len: number): Uint8Array {
    this.checkRange(addr, len, 'read');
    const off = addr - this.base;
    return this.mem.slice(off, off + len);
  }

  /** The bytes as a latin1 string (what the board's Storage.read gives), without a copy in between. */
  readLatin1(addr: number, len: number): string {
    this.checkRange(addr, len, 'read');
    const off = addr - this.base;
    return this.memText.toString('latin1', off, off + len);
  }

  write(addr: number, data: Uint8Array): void {
    if (addr % WORD !== 0 || data.length % WORD !== 0) {
      throw new Error('Flash write: address/length must be word aligned');
    }
    this.checkRange(addr, data.length, 'write');
    const words = data.length / WORD;
    const landed = this.beginOp(words);
    const off = addr - this.base;
    const bytes = landed * WORD;
    for (let i = 0; i < bytes; i++) this.mem[off + i] &= data[i];
    this.spend((landed * this.timing.writeUsPerWord) / 1000);
    if (landed < words) this.die();
  }

  erasePage(addr: number): void {
    const index = this.pageIndex(addr);
    if (index < 0) throw new Error(`Flash erase: address 0x${addr.toString(16)} is not in flash`);
    const page = this.pages[index];
    const words = page.length / WORD;
    const landed = this.beginOp(words);
    const off = page.addr - this.base;
    this.mem.fill(0xff, off, off + landed * WORD);
    if (landed === words) {
      this.eraseCounts[index]++;
      this.spend(this.timing.eraseMs(page.length));
    } else {
      // An interrupted erase still wore the page and took time up to the cut.
      this.eraseCounts[index]++;
      this.spend((this.timing.eraseMs(page.length) * landed) / words);
      this.die();
    }
  }

  getPage(addr: number): { addr: number; length: number } | undefined {
    const index = this.pageIndex(addr);
    if (index < 0) return undefined;
    return { addr: this.pages[index].addr, length: this.pages[index].length };
  }

  /** Index of the page containing addr in `eraseCounts`/`pageMap`, or -1. */
  pageIndex(addr: number): number {
    let lo = 0;
    let hi = this.pages.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const p = this.pages[mid];
      if (addr < p.addr) hi = mid - 1;
      else if (addr >= p.addr + p.length) lo = mid + 1;
      else return mid;
    }
    return -1;
  }

  /**
   * Tears operation number `atOp` (0-based, counted by opCount). A write of n words lands only its
   * first k words, an erase of n words resets only its first k words; k is `tear.words` when given
   * (clamped to n), else drawn from rng in [0, n). Then the flash goes dead.
   */
  armPowerCut(atOp: number, tear: { words?: number } = {}): void {
    if (!Number.isInteger(atOp) || atOp < this.opCount) {
      throw new Error(`Power cut at flash op ${atOp}: ${this.opCount} ops have already run`);
    }
    this.armed = { atOp, words: tear.words };
  }

  /** Cuts power now, between operations: nothing is torn, every later op throws. */
  cutPowerNow(): void {
    this.armed = undefined;
    this.isDead = true;
  }

  /** Power is back: operations work again and any armed cut is cleared. */
  powerRestored(): void {
    this.isDead = false;
    this.armed = undefined;
  }

  /** Whole flash contents (a copy), e.g. to persist with --flash FILE. */
  image(): Uint8Array {
    return this.mem.slice();
  }

  /** Replaces the whole contents (used when loading a saved image into a running board). */
  loadImage(image: Uint8Array): void {
    if (image.length !== this.size) throw new Error(`Flash image is ${image.length} bytes, expected ${this.size}`);
    this.mem.set(image);
    this.imageLoads++;
  }

  /**
   * Differs whenever the contents may have changed since it was last read (every write or erase,
   * torn or not, and every loadImage): lets readers keep what they parsed until then.
   */
  get contentVersion(): string {
    return `${this.opCount}/${this.imageLoads}`;
  }

  /** Starts an operation; returns how many of its `words` land (all unless this op is torn). */
  private beginOp(words: number): number {
    if (this.isDead) throw new PowerCutError();
    const op = this.opCount++;
    if (!this.armed || this.armed.atOp !== op) return words;
    const given = this.armed.words;
    this.armed = undefined;
    if (given !== undefined) return Math.max(0, Math.min(words, Math.floor(given)));
    return Math.min(words - 1, Math.floor(this.rng() * words));
  }

  private die(): void {
    this.isDead = true;
    throw new PowerCutError('Power cut during flash operation');
  }

  private spend(ms: number): void {
    if (ms <= 0) return;
    this.busyMs += ms;
    this.onBusy?.(ms);
  }

  private checkRange(addr: number, len: number, what: string): void {
    if (!Number.isInteger(addr) || !Number.isInteger(len) || len < 0 || addr < this.base || addr + len > this.base + this.size) {
      throw new Error(
        `Flash ${what}: 0x${addr.toString(16)}+${len} is outside flash 0x${this.base.toString(16)}..0x${(this.base + this.size).toString(16)}`,
      );
    }
  }
}

function expandPages(board: BoardInfo): Page[] {
  const pages: Page[] = [];
  for (const run of board.pages) {
    for (let i = 0; i < run.count; i++) pages.push({ addr: run.addr + i * run.size, length: run.size });
  }
  return pages;
}
