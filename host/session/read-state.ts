import type { Clock } from '../clock/clock.ts';
import { Link, type LinkMessage } from '../link/link.ts';
import { CMD_PING, MSG_BOOT, MSG_HEARTBEAT, STATE_CHECKPOINT, STATE_FAULT } from '../../shared/protocol.ts';
import { describeCheckpoint, describeFault, type CheckpointView, type FaultView } from './saved-state.ts';
import { pullState, type PulledState } from './state-pull.ts';

export interface SavedStateReport {
  boot: any | null;
  heartbeat: any | null;
  checkpoint: CheckpointView | null;
  fault: FaultView | null;
  transfers: { what: string; size: number; crc: number; verified: boolean; problem: string; ms: number; repeatedChunks: number; empty: boolean }[];
  /** Every transfer verified and every record parsed. */
  verified: boolean;
  /** Raw bytes as pulled (for a journal or a file). */
  raw: { ck: Buffer; fault: Buffer };
}

/**
 * Pulls the board's saved checkpoint and fault record (with its flight recorder), verifies both
 * (transfer CRC, then each journal record's CRC and commit mark) and replays the checkpoint.
 * Waits up to `aliveMs` for a sign of life first (boot frame, heartbeat, or an answered ping).
 */
export async function readSavedState(link: Link, clock: Clock, aliveMs = 6000): Promise<SavedStateReport | null> {
  let boot: any = null;
  let heartbeat: any = null;
  const seen = (m: LinkMessage) => {
    if (m.type === MSG_BOOT) boot = m.body;
    if (m.type === MSG_HEARTBEAT) heartbeat = m.body;
  };
  link.on('message', seen);
  try {
    const alive = await Promise.race([
      link.waitFor((m) => m.type === MSG_BOOT || m.type === MSG_HEARTBEAT, aliveMs),
      link.request(CMD_PING, {}, { timeoutMs: 500, retries: Math.max(1, Math.floor(aliveMs / 1000)) }).catch(() => null),
    ]);
    if (!alive) return null;
    const ck = await pullState(link, STATE_CHECKPOINT);
    const fault = await pullState(link, STATE_FAULT);
    // A boot frame that arrives while we pull is still worth showing.
    const checkpoint = describeCheckpoint(ck, boot) ?? null;
    const faultView = describeFault(fault) ?? null;
    const transfers = [ck, fault].map((p: PulledState) => ({
      what: p.what,
      size: p.size,
      crc: p.crc,
      verified: p.verified,
      problem: p.problem,
      ms: p.ms,
      repeatedChunks: p.repeatedChunks,
      empty: p.empty,
    }));
    const verified = transfers.every((t) => t.verified) && (checkpoint?.verified ?? true) && (faultView?.verified ?? true);
    return { boot, heartbeat, checkpoint, fault: faultView, transfers, verified, raw: { ck: ck.bytes, fault: fault.bytes } };
  } finally {
    link.off('message', seen);
  }
}
