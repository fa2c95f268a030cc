/**
 * Bit layout of the firmware's interrupt status register (32 bits, write-1-to-clear).
 *
 * The bit number IS the dispatch priority: the handler serves the lowest set bit first, so
 * faults always win over routine work. Bits 8..31 are reserved and read as 0.
 * Both the firmware and the host (which decodes status snapshots in heartbeats and fault
 * records) use this table; docs/protocol.md describes it for people.
 */
export const IRQ_FAULT = 1 << 0; // a fault was captured (exception, error flag, assertion)
export const IRQ_WDT_EARLY = 1 << 1; // the task watchdog's early-warning deadline passed
export const IRQ_UART_ERR = 1 << 2; // UART overrun / receive buffer full
export const IRQ_UART_RX = 1 << 3; // bytes arrived on the job's UART (Serial1)
export const IRQ_TIMER = 1 << 4; // periodic timer tick (sampler, heartbeat, checkpoint timer)
export const IRQ_SWI = 1 << 5; // software interrupt: a verified host command is queued
export const IRQ_INJECT = 1 << 6; // software interrupt: host-requested fault injection

/** Number of defined sources; counters are indexed by bit number. */
export const IRQ_SOURCE_COUNT = 7;

/** Human names indexed by bit number (host display, docs). */
export const IRQ_SOURCE_NAMES = ['fault', 'wdt_early', 'uart_err', 'uart_rx', 'timer', 'swi', 'inject'];

/** Most sources the handler serves in one pass before yielding to the event loop. */
export const IRQ_MAX_PER_PASS = 16;
