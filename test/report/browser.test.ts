/**
 * test/browser.ts: which Chromium the browser tests get, the unpacking of the packaged one (its
 * tar reader, its atomic and concurrent-safe cache), and that the packaged one really starts and
 * renders here, whatever Chromium the machine has installed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync } from 'node:zlib';
import { bundledLibsUsable, chooseChromium, extractTar, findSystemChromium, glibcVersion, launchChromium, packagedChromium, unpackPackagedChromium } from '../browser.ts';

const work = mkdtempSync(join(tmpdir(), 'irqmon-browser-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function hasTar(): boolean {
  try {
    execFileSync('tar', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A ustar header block for hand-made archives (checksum computed, or forced wrong). */
function header(name: string, size: number, type = '0', badChecksum = false): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(size.toString(8).padStart(11, '0') + '\0', 124);
  h.write('00000000000\0', 136);
  h.write(type, 156);
  h.write('ustar\0' + '00', 257);
  h.fill(0x20, 148, 156);
  const sum = h.reduce((a, b) => a + b, 0) + (badChecksum ? 1 : 0);
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}
const pad = (b: Buffer) => Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);

describe('extractTar', () => {
  for (const format of ['gnu', 'pax']) {
    it(`reads what tar --format=${format} writes: long names, folders, modes, symlinks`, async () => {
      if (!hasTar()) {
        console.log('skipped: no tar command on this machine to write a reference archive');
        return;
      }
      const src = join(work, `src-${format}`);
      const deep = join(src, 'a'.repeat(60), 'b'.repeat(60));
      mkdirSync(deep, { recursive: true });
      writeFileSync(join(src, 'plain.txt'), 'plain\n');
      const longFile = join(deep, `${'c'.repeat(80)}.bin`);
      writeFileSync(longFile, Buffer.from(Array.from({ length: 1500 }, (_, i) => i % 251)));
      writeFileSync(join(src, 'run.sh'), '#!/bin/sh\n');
      chmodSync(join(src, 'run.sh'), 0o755);
      execFileSync('ln', ['-s', 'plain.txt', join(src, 'link')]);
      const tar = execFileSync('tar', [`--format=${format}`, '-C', src, '-cf', '-', '.'], { maxBuffer: 1 << 24 });
      const dest = join(work, `dest-${format}`);
      const written = await extractTar(tar, dest);
      expect(written.length).toBe(4);
      expect(readFileSync(join(dest, 'plain.txt'), 'utf8')).toBe('plain\n');
      expect(readFileSync(longFile.replace(src, dest))).toEqual(readFileSync(longFile));
      expect(statSync(join(dest, 'run.sh')).mode & 0o777).toBe(0o755);
      expect(readlinkSync(join(dest, 'link'))).toBe('plain.txt');
    });
  }

  it('refuses an entry that would land outside the folder, a damaged header and a cut archive', async () => {
    const body = Buffer.from('x');
    const evil = Buffer.concat([header('../escape.txt', 1), pad(body), Buffer.alloc(1024)]);
    await expect(extractTar(evil, join(work, 'evil'))).rejects.toThrow(/tar: entry \.\.\/escape\.txt would be written outside/);
    expect(existsSync(join(work, 'escape.txt'))).toBe(false);
    const damaged = Buffer.concat([header('ok.txt', 1, '0', true), pad(body), Buffer.alloc(1024)]);
    await expect(extractTar(damaged, join(work, 'damaged'))).rejects.toThrow(/bad header checksum at byte 0/);
    const cut = Buffer.concat([header('big.txt', 4000), Buffer.alloc(512)]);
    await expect(extractTar(cut, join(work, 'cut'))).rejects.toThrow(/entry big\.txt at byte 0 runs past the end/);
    const fifo = Buffer.concat([header('pipe', 0, '6'), Buffer.alloc(1024)]);
    await expect(extractTar(fifo, join(work, 'fifo'))).rejects.toThrow(/entry pipe has type '6'/);
  });
});

/** A stand-in for @sparticuz/chromium's bin/ with tiny files of the same shapes. */
function fakePackage(name: string): { binDir: string; version: string; exe: Buffer } {
  const binDir = join(work, name, 'bin');
  mkdirSync(binDir, { recursive: true });
  const exe = Buffer.from('#!/bin/sh\necho fake chromium\n');
  writeFileSync(join(binDir, 'chromium.br'), brotliCompressSync(exe));
  const tarOf = (entries: [string, string][]) =>
    brotliCompressSync(Buffer.concat([...entries.flatMap(([n, text]) => [header(n, Buffer.byteLength(text)), pad(Buffer.from(text))]), Buffer.alloc(1024)]));
  writeFileSync(join(binDir, 'swiftshader.tar.br'), tarOf([['libGLESv2.so', 'gl']]));
  writeFileSync(join(binDir, 'fonts.tar.br'), tarOf([['fonts.conf', '<fontconfig/>'], ['fonts/Open_Sans/OpenSans-Regular.ttf', 'font']]));
  writeFileSync(join(binDir, 'al2023.tar.br'), tarOf([['lib/libnss3.so', 'nss']]));
  return { binDir, version: '1.2.3', exe };
}

describe('unpacking the packaged Chromium', () => {
  it('concurrent runs both get one complete copy; a later run reuses it; killed runs are cleaned away', async () => {
    const pkg = fakePackage('pkg');
    const cacheDir = join(work, 'cache');
    mkdirSync(join(cacheDir, '.unpack-1.2.3-stale'), { recursive: true });
    const old = (Date.now() - 3600_000) / 1000;
    utimesSync(join(cacheDir, '.unpack-1.2.3-stale'), old, old);
    const [a, b] = await Promise.all([unpackPackagedChromium({ ...pkg, cacheDir }), unpackPackagedChromium({ ...pkg, cacheDir })]);
    expect(a.executablePath).toBe(join(cacheDir, '1.2.3', 'chromium'));
    expect(b.executablePath).toBe(a.executablePath);
    expect(readFileSync(a.executablePath)).toEqual(pkg.exe);
    expect(statSync(a.executablePath).mode & 0o111).not.toBe(0);
    expect(readdirSync(cacheDir)).toEqual(['1.2.3']);
    const dir = join(cacheDir, '1.2.3');
    expect(readFileSync(join(dir, 'libGLESv2.so'), 'utf8')).toBe('gl');
    expect(readFileSync(join(dir, 'al2023', 'lib', 'libnss3.so'), 'utf8')).toBe('nss');
    if (bundledLibsUsable(glibcVersion())) expect(a.env!.LD_LIBRARY_PATH.split(':')[0]).toBe(join(dir, 'al2023', 'lib'));
    else expect(a.env!.LD_LIBRARY_PATH).toBeUndefined();
    expect(readFileSync(a.env!.FONTCONFIG_FILE, 'utf8')).toContain(`<dir>${join(dir, 'fontpack', 'fonts')}</dir>`);
    // both unpacked (so one lost the race to rename its copy into place) and both got a browser
    expect(a.unpackMs).toBeGreaterThan(0);
    expect(b.unpackMs).toBeGreaterThan(0);
    const again = await unpackPackagedChromium({ ...pkg, cacheDir });
    expect(again.unpackMs).toBeUndefined();
    expect(again.describe).toContain('already unpacked');
  });

  it('uses its own NSS libraries only on a glibc they can load on (2.34 or newer)', () => {
    expect([undefined, '2.28', '2.31', '2.33', '2.34', '2.36', '2.40', '3.0'].map(bundledLibsUsable)).toEqual([false, false, false, false, true, true, true, true]);
    // undefined on musl, where the packaged Chromium is refused before this matters
    expect(glibcVersion() ?? '2.0').toMatch(/^\d+\.\d+$/);
  });

  it('names the missing file of an incomplete install', async () => {
    const pkg = fakePackage('broken');
    rmSync(join(pkg.binDir, 'fonts.tar.br'));
    await expect(unpackPackagedChromium({ ...pkg, cacheDir: join(work, 'cache2') })).rejects.toThrow(`${join(pkg.binDir, 'fonts.tar.br')} is missing`);
  });
});

describe('choosing the browser', () => {
  const bin = join(work, 'path-bin');
  mkdirSync(bin, { recursive: true });

  it('takes a Chromium from PATH, skipping a snap wrapper', () => {
    const snapDir = join(work, 'snap-bin');
    mkdirSync(snapDir, { recursive: true });
    writeFileSync(join(snapDir, 'chromium'), '#!/bin/sh\nexec /snap/bin/chromium "$@"\n', { mode: 0o755 });
    writeFileSync(join(bin, 'google-chrome'), '\x7fELF not really', { mode: 0o755 });
    writeFileSync(join(bin, 'chromium'), 'not executable', { mode: 0o644 });
    expect(findSystemChromium(`${snapDir}:${bin}`)).toBe(join(bin, 'google-chrome'));
    expect(findSystemChromium(snapDir)).toBeUndefined();
    expect(findSystemChromium('')).toBeUndefined();
  });

  it('honours IRQMON_CHROMIUM and says what is wrong with it', async () => {
    expect((await chooseChromium({ PATH: bin })).kind).toBe('system');
    expect((await chooseChromium({ PATH: bin, IRQMON_CHROMIUM: 'system' })).executablePath).toBe(join(bin, 'google-chrome'));
    await expect(chooseChromium({ PATH: '', IRQMON_CHROMIUM: 'system' })).rejects.toThrow(/IRQMON_CHROMIUM=system but no chromium, .* is on PATH/);
    await expect(chooseChromium({ PATH: bin, IRQMON_CHROMIUM: 'chrome' })).rejects.toThrow(/IRQMON_CHROMIUM=chrome: expected 'system', 'packaged' or the path/);
    await expect(chooseChromium({ PATH: bin, IRQMON_CHROMIUM: join(work, 'nothing-here') })).rejects.toThrow(/no executable file there/);
    const given = await chooseChromium({ PATH: '', IRQMON_CHROMIUM: join(bin, 'google-chrome') });
    expect(given).toMatchObject({ kind: 'path', executablePath: join(bin, 'google-chrome') });
  });

  it('with no Chromium on PATH, the packaged one starts and renders a page (what a fresh machine gets)', async () => {
    const choice = await chooseChromium({ PATH: '' });
    expect(choice.kind).toBe('packaged');
    const { browser, choice: launched } = await launchChromium(choice);
    try {
      console.log(`packaged browser: ${launched.describe}`);
      // Chromium's major version is the package's
      expect(browser.version().split('.')[0]).toBe(packagedChromium().version.split('.')[0]);
      const page = await browser.newPage({ viewport: { width: 400, height: 200 } });
      await page.setContent('<span id="p" style="font:20px sans-serif">irqmon 123</span>');
      expect(await page.locator('#p').innerText()).toBe('irqmon 123');
      // text drawn with a font: glyphs give the paragraph a real width
      expect((await page.locator('#p').evaluate((el) => el.getBoundingClientRect().width)) > 50).toBe(true);
      const png = await page.screenshot();
      expect(png.subarray(1, 4).toString()).toBe('PNG');
    } finally {
      await browser.close();
    }
  }, 120_000);
});
