/**
 * The headless Chromium the browser tests drive through playwright-core.
 *
 * A system Chromium or Chrome is used when one is installed (it starts at once). Otherwise the
 * build that the npm package @sparticuz/chromium carries inside itself is used, so `npm ci` is all
 * a fresh Linux x64 machine needs: no system package, no root, no download beyond the npm registry
 * (the package has no install script; it is unpacked here on first use, about 3 s, into
 * node_modules/.cache, which `npm ci` wipes with the rest of node_modules).
 *
 * IRQMON_CHROMIUM chooses explicitly: `system`, `packaged`, or the path of an executable.
 */
import { accessSync, closeSync, constants as fsc, createReadStream, createWriteStream, existsSync, openSync, readFileSync, readSync, realpathSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { delimiter, dirname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { brotliDecompress, createBrotliDecompress } from 'node:zlib';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_ENV = 'IRQMON_CHROMIUM';

export interface ChromiumChoice {
  kind: 'system' | 'packaged' | 'path';
  executablePath: string;
  /** Environment for the browser process (the packaged build needs its libraries and fonts). */
  env?: { [k: string]: string };
  /** One line saying which browser this is and where it came from. */
  describe: string;
  /** Set when this call unpacked the packaged build (ms), absent when it was already unpacked. */
  unpackMs?: number;
}

// Ubuntu's chromium-browser is a wrapper that starts a snap, whose confinement cannot read a
// user-data-dir under /tmp: such an install is skipped rather than failing the launch.
const SYSTEM_NAMES = ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome'];

/** The first Chromium or Chrome executable on PATH that is not a snap, or undefined. */
export function findSystemChromium(pathEnv = process.env.PATH ?? ''): string | undefined {
  for (const d of pathEnv.split(delimiter)) {
    if (!d) continue;
    for (const name of SYSTEM_NAMES) {
      const p = join(d, name);
      if (!isExecutable(p) || isSnap(p)) continue;
      return p;
    }
  }
  return undefined;
}

function isExecutable(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, fsc.X_OK);
    return true;
  } catch {
    return false;
  }
}

function isSnap(p: string): boolean {
  if (realpathSync(p).startsWith('/snap/')) return true;
  // only the head: the real thing is a 200 MB executable
  const head = Buffer.alloc(4096);
  const fd = openSync(p, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const text = head.subarray(0, n).toString('latin1');
  return text.startsWith('#!') && text.includes('/snap/');
}

/** Where @sparticuz/chromium is installed: its bin/ folder (the brotli files) and its version. */
export function packagedChromium(): { binDir: string; version: string } {
  let main: string;
  try {
    main = createRequire(import.meta.url).resolve('@sparticuz/chromium');
  } catch (e) {
    throw new Error(`@sparticuz/chromium is not installed (run npm ci): ${(e as Error).message}`);
  }
  // main is <pkg>/build/cjs/index.cjs
  const pkg = resolve(dirname(main), '..', '..');
  const version = JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).version as string;
  return { binDir: join(pkg, 'bin'), version };
}

/**
 * Unpacks the packaged Chromium (once per version) and returns its executable and environment.
 * The unpacking goes to a private folder renamed into place when complete, so a killed or
 * concurrent run never leaves or uses a half-written browser.
 */
export async function unpackPackagedChromium(opts: { binDir?: string; version?: string; cacheDir?: string } = {}): Promise<ChromiumChoice> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      `the packaged Chromium (@sparticuz/chromium) is a Linux x64 build; this is ${process.platform}/${process.arch}: ` +
        `install Chromium or Chrome, or set ${CHROMIUM_ENV}=/path/to/chromium`,
    );
  }
  if (!glibcVersion()) {
    throw new Error(`the packaged Chromium (@sparticuz/chromium) is built for glibc; this Linux has another C library (Alpine's musl?): install Chromium from the distribution, or set ${CHROMIUM_ENV}=/path/to/chromium`);
  }
  const found = opts.binDir && opts.version ? { binDir: opts.binDir, version: opts.version } : packagedChromium();
  const { binDir, version } = found;
  for (const f of ['chromium.br', 'swiftshader.tar.br', 'fonts.tar.br', 'al2023.tar.br']) {
    if (!existsSync(join(binDir, f))) throw new Error(`${join(binDir, f)} is missing: the @sparticuz/chromium install is incomplete (run npm ci)`);
  }
  // bin/ -> @sparticuz/chromium -> @sparticuz -> node_modules
  const cacheRoot = opts.cacheDir ?? join(binDir, '..', '..', '..', '.cache', 'irqmon-chromium');
  const dir = join(cacheRoot, version);
  let unpackMs: number | undefined;
  if (!existsSync(dir)) {
    const t0 = performance.now();
    try {
      await mkdir(cacheRoot, { recursive: true });
    } catch (e) {
      throw new Error(`cannot unpack the packaged Chromium into ${cacheRoot}: ${(e as Error).message}; set ${CHROMIUM_ENV}=/path/to/chromium instead`);
    }
    await removeStaleStaging(cacheRoot);
    const staging = await mkdtemp(join(cacheRoot, `.unpack-${version}-`));
    try {
      await pipeline(createReadStream(join(binDir, 'chromium.br')), createBrotliDecompress({ chunkSize: 2 ** 21 }), createWriteStream(join(staging, 'chromium'), { mode: 0o755 }));
      // Chromium looks for its software GL next to its executable.
      await extractTar(await inflate(join(binDir, 'swiftshader.tar.br')), staging);
      await extractTar(await inflate(join(binDir, 'fonts.tar.br')), join(staging, 'fontpack'));
      // NSS and expat built for the package's target system: a fresh machine may lack them.
      await extractTar(await inflate(join(binDir, 'al2023.tar.br')), join(staging, 'al2023'));
      await writeFile(join(staging, 'fonts.conf'), fontsConf(dir));
      // mkdtemp made it private; the browser is no secret, and others sharing node_modules may use it.
      await chmod(staging, 0o755);
      await rename(staging, dir);
    } catch (e) {
      await rm(staging, { recursive: true, force: true });
      const code = (e as NodeJS.ErrnoException).code;
      // Another run finished first: its copy is as good as ours.
      if (!((code === 'ENOTEMPTY' || code === 'EEXIST') && existsSync(join(dir, 'chromium')))) {
        throw new Error(`unpacking the packaged Chromium from ${binDir} into ${dir} failed: ${(e as Error).message}`);
      }
    }
    unpackMs = performance.now() - t0;
  }
  const executablePath = join(dir, 'chromium');
  if (!isExecutable(executablePath)) throw new Error(`${executablePath} is missing or not executable: delete ${dir} and run again`);
  const glibc = glibcVersion();
  const ownLibs = bundledLibsUsable(glibc);
  const env: { [k: string]: string } = { FONTCONFIG_FILE: join(dir, 'fonts.conf') };
  if (ownLibs) env.LD_LIBRARY_PATH = [join(dir, 'al2023', 'lib'), process.env.LD_LIBRARY_PATH].filter(Boolean).join(':');
  return {
    kind: 'packaged',
    executablePath,
    env,
    describe:
      `packaged Chromium from @sparticuz/chromium ${version} at ${executablePath}` +
      (unpackMs === undefined ? ' (already unpacked' : ` (unpacked in ${(unpackMs / 1000).toFixed(1)} s`) +
      (ownLibs ? ', its own NSS libraries)' : `, the system's NSS libraries: glibc ${glibc ?? 'unknown'} is older than the packaged ones need)`),
    unpackMs,
  };
}

/** The C library version this process runs on (undefined off glibc, e.g. musl). */
export function glibcVersion(): string | undefined {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return header?.glibcVersionRuntime;
}

/**
 * The packaged NSS/expat libraries are built against glibc 2.34 (their newest symbol version): on
 * an older glibc they cannot load, and the system's own (Chromium needs only glibc 2.25) must do.
 */
export function bundledLibsUsable(glibc: string | undefined): boolean {
  if (!glibc) return false;
  const [major, minor] = glibc.split('.').map(Number);
  return major > 2 || (major === 2 && minor >= 34);
}

/** The system's font setup when there is one, plus the package's own fonts for a machine without any. */
function fontsConf(dir: string): string {
  return `<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>
  <dir>${join(dir, 'fontpack', 'fonts')}</dir>
  <dir>/usr/share/fonts</dir>
  <dir>/usr/local/share/fonts</dir>
  <cachedir>${join(dir, 'fontconfig-cache')}</cachedir>
</fontconfig>
`;
}

/** Staging folders of runs killed mid-unpack (200 MB each); a live unpack takes seconds. */
async function removeStaleStaging(cacheRoot: string): Promise<void> {
  for (const name of await readdir(cacheRoot)) {
    if (!name.startsWith('.unpack-')) continue;
    const p = join(cacheRoot, name);
    const st = await stat(p).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > 10 * 60_000) await rm(p, { recursive: true, force: true });
  }
}

const inflate = async (file: string) => (await promisify(brotliDecompress)(readFileSync(file))) as Buffer;

/**
 * Extracts a tar archive (ustar, with GNU long names or pax paths) into dest; returns the paths
 * written. Entries that would land outside dest are refused.
 */
export async function extractTar(tar: Buffer, dest: string): Promise<string[]> {
  const root = resolve(dest);
  await mkdir(root, { recursive: true });
  const written: string[] = [];
  let longName: string | undefined;
  let longLink: string | undefined;
  let off = 0;
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const field = (a: number, b: number) => {
      const s = h.subarray(a, b);
      const nul = s.indexOf(0);
      return s.subarray(0, nul < 0 ? s.length : nul).toString('utf8');
    };
    const sum = h.reduce((a, b, i) => a + (i >= 148 && i < 156 ? 32 : b), 0);
    if (sum !== parseInt(field(148, 156).trim(), 8)) throw new Error(`tar: bad header checksum at byte ${off} (not a tar archive, or a damaged one)`);
    if (h[124] & 0x80) throw new Error(`tar: entry at byte ${off} uses a base-256 size, which this reader does not support`);
    const size = parseInt(field(124, 136).trim() || '0', 8);
    const type = h[156] === 0 ? '0' : String.fromCharCode(h[156]);
    const prefix = field(257, 263).startsWith('ustar') ? field(345, 500) : '';
    let name = prefix ? `${prefix}/${field(0, 100)}` : field(0, 100);
    let link = field(157, 257);
    const bodyAt = off + 512;
    if (bodyAt + size > tar.length) throw new Error(`tar: entry ${name} at byte ${off} runs past the end of the archive`);
    const body = tar.subarray(bodyAt, bodyAt + size);
    off = bodyAt + Math.ceil(size / 512) * 512;
    if (type === 'L' || type === 'K') {
      const v = body.toString('utf8').replace(/\0+$/, '');
      if (type === 'L') longName = v;
      else longLink = v;
      continue;
    }
    if (type === 'x') {
      const pax = parsePax(body);
      if (pax.path) longName = pax.path;
      if (pax.linkpath) longLink = pax.linkpath;
      continue;
    }
    if (type === 'g') continue;
    name = longName ?? name;
    link = longLink ?? link;
    longName = longLink = undefined;
    const target = resolve(root, name);
    if (target !== root && !target.startsWith(root + sep)) throw new Error(`tar: entry ${name} would be written outside ${root}`);
    const mode = parseInt(field(100, 108).trim() || '644', 8) & 0o777;
    if (type === '5') {
      await mkdir(target, { recursive: true });
    } else if (type === '0' || type === '7') {
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, body, { mode });
      written.push(target);
    } else if (type === '2') {
      await mkdir(dirname(target), { recursive: true });
      await symlink(link, target);
      written.push(target);
    } else {
      throw new Error(`tar: entry ${name} has type '${type}', which this reader does not extract`);
    }
  }
  return written;
}

/** pax extended header records: "<len> <key>=<value>\n". */
function parsePax(body: Buffer): { [k: string]: string } {
  const out: { [k: string]: string } = {};
  let i = 0;
  while (i < body.length) {
    const sp = body.indexOf(0x20, i);
    if (sp < 0) break;
    const len = parseInt(body.subarray(i, sp).toString('ascii'), 10);
    if (!(len > 0)) throw new Error(`tar: bad pax record at byte ${i} of an extended header`);
    const rec = body.subarray(sp + 1, i + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq > 0) out[rec.slice(0, eq)] = rec.slice(eq + 1);
    i += len;
  }
  return out;
}

/** Picks the browser: IRQMON_CHROMIUM if set, else a system one, else the packaged one. */
export async function chooseChromium(env: NodeJS.ProcessEnv = process.env): Promise<ChromiumChoice> {
  const want = env[CHROMIUM_ENV]?.trim();
  if (want === 'packaged') return unpackPackagedChromium();
  if (want === 'system' || !want) {
    const p = findSystemChromium(env.PATH);
    if (p) return { kind: 'system', executablePath: p, describe: `system Chromium at ${p}` };
    if (want === 'system') throw new Error(`${CHROMIUM_ENV}=system but no ${SYSTEM_NAMES.join(', ')} (other than a snap) is on PATH`);
    return unpackPackagedChromium();
  }
  if (!want.includes('/')) throw new Error(`${CHROMIUM_ENV}=${want}: expected 'system', 'packaged' or the path of a Chromium executable`);
  if (!isExecutable(want)) throw new Error(`${CHROMIUM_ENV}=${want}: no executable file there`);
  return { kind: 'path', executablePath: want, describe: `Chromium at ${want} (from ${CHROMIUM_ENV})` };
}

/** Chooses and starts the headless browser; `describe` gains the version it reports. */
export async function launchChromium(choice?: ChromiumChoice): Promise<{ browser: Browser; choice: ChromiumChoice }> {
  const c = choice ?? (await chooseChromium());
  let browser: Browser;
  try {
    browser = await chromium.launch({
      executablePath: c.executablePath,
      env: c.env ? { ...process.env, ...c.env } : undefined,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  } catch (e) {
    const other = c.kind === 'packaged' ? `${CHROMIUM_ENV}=/path/to/chromium` : `${CHROMIUM_ENV}=packaged`;
    throw new Error(`could not start the ${c.describe}: ${(e as Error).message}\n(try ${other})`);
  }
  return { browser, choice: { ...c, describe: `${c.describe}, version ${browser.version()}` } };
}
