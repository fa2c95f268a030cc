/**
 * Reads the firmware's checkpoint journal straight out of a virtual board's flash (raw region, the
 * pico's raw journal inside Storage, or Storage files, as firmware/src/port/espruino/journal-store.ts
 * chooses), read-only: what
 * a test uses to prove that a record reached flash before the reset.
 */
import { crc32 as zlibCrc32 } from 'node:zlib';
import type { VirtualBoard } from '../../../host/board/index.ts';
import { createJournal } from '../../../firmware/src/core/journal/journal.ts';
import type { JournalStore } from '../../../firmware/src/core/journal/journal.ts';
import { STORAGE_PAGE_COUNT, STORAGE_PAGE_PREFIX, STORAGE_PAGE_SIZE } from '../../../firmware/src/port/espruino/journal-store.ts';
import { packr } from '../../../host/wire/index.ts';
import { prims } from '../../journal/helpers.ts';

const TAG = 4;

function readOnlyStore(board: VirtualBoard): JournalStore {
  const info = board.profile.info;
  const refuse = () => {
    throw new Error('read-only journal view');
  };
  // the pico's raw journal inside Storage, when the layout is exactly right (as the firmware checks)
  const f = info.journalFile;
  const onFile = f && board.storage.dataAddress(f.name) === f.addr && board.storage.readBytes(f.name)?.length === f.length;
  const r = onFile ? f : info.journalRegion;
  if (r) {
    const pageSize = board.flash.getPage(r.addr)!.length;
    return {
      pageSize,
      pageCount: Math.floor(r.length / pageSize),
      read: (p, o, len) => board.flash.read(r.addr + p * pageSize + o, len),
      write: refuse,
      erase: refuse,
    };
  }
  return {
    pageSize: STORAGE_PAGE_SIZE,
    pageCount: STORAGE_PAGE_COUNT,
    read: (p, o, len) => board.storage.readBytes(STORAGE_PAGE_PREFIX + p, o + TAG, len) ?? new Uint8Array(len),
    write: refuse,
    erase: refuse,
  };
}

export interface FlashView {
  state: any;
  seq: number;
  fault: any;
  rawCheckpoint: Uint8Array;
  rawFault: Uint8Array | null;
}

export function readFlashJournal(board: VirtualBoard): FlashView {
  const j = createJournal(readOnlyStore(board), prims);
  const m = j.mount();
  return {
    state: m.state,
    seq: m.seq,
    fault: m.faultBlob ? packr.unpack(Buffer.from(m.faultBlob)) : null,
    rawCheckpoint: j.rawCheckpoint(),
    rawFault: j.rawFault(),
  };
}
