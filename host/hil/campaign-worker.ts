/**
 * A campaign worker process (started by host/hil/campaign-pool.ts, never by hand). It receives the
 * campaign's options once, then shards one at a time over the IPC channel, runs each with
 * runShard (no per-call vm timeout unless told where to turn it on), and reports every fault and
 * every finished shard. A beat every BEAT_MS tells the parent the event loop still turns: firmware
 * code that never returns stops the beats, and the parent replays the shard guarded.
 */
import { runShard, type ShardGuard, type ShardOptions, type ShardSpec } from './campaign.ts';

export const BEAT_MS = 250;

export type ToWorker = { type: 'options'; options: ShardOptions } | { type: 'shard'; shard: ShardSpec; guard: ShardGuard };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'beat' }
  | { type: 'fault'; shard: number; index: number; fault: unknown }
  | { type: 'shard'; result: unknown; cpuMs: number }
  | { type: 'error'; shard: number; message: string };

if (process.send) {
  const send = (m: FromWorker) => process.send!(m);
  let options: ShardOptions | null = null;
  const beat = setInterval(() => send({ type: 'beat' }), BEAT_MS);
  process.on('disconnect', () => {
    clearInterval(beat);
    process.exit(0);
  });
  process.on('message', (m: ToWorker) => {
    if (m.type === 'options') {
      options = m.options;
      return;
    }
    const shard = m.shard;
    let index = 0;
    runShard(options!, shard, m.guard, (fault) => send({ type: 'fault', shard: shard.index, index: index++, fault }))
      .then((result) => {
        const cpu = process.cpuUsage();
        send({ type: 'shard', result, cpuMs: (cpu.user + cpu.system) / 1000 });
      })
      .catch((err: Error) => send({ type: 'error', shard: shard.index, message: String(err?.stack ?? err) }));
  });
  send({ type: 'ready' });
}
