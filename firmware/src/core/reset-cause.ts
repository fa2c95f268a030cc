/**
 * Reset cause at boot, from the board's reset register (where the table names one) and the
 * breadcrumb the firmware commits before every reset it causes itself, mapped onto the shared
 * taxonomy (shared/taxonomy.ts).
 *
 * Register flags accumulate on both STM32 (until cleared) and nRF52 (never cleared by us: poking
 * the POWER block while Bluetooth runs can reset the chip), so the firmware keeps the value it
 * saw at the previous boot and looks at the bits that appeared since. A register that lost
 * bits it had was cleared by a power-on reset, so all of its bits are new.
 */
import type { ResetRegisterBits } from '../../../shared/boards.ts';
import {
  RESET_BROWN_OUT,
  RESET_LOCKUP,
  RESET_PIN,
  RESET_POWER_LOSS,
  RESET_POWER_ON,
  RESET_SOFTWARE,
  RESET_WATCHDOG,
} from '../../../shared/taxonomy.ts';

/**
 * raw: register value, or -1 when the board has none. prev: value stored at the previous boot.
 * bc: breadcrumb (a reset cause code the firmware wrote before resetting itself; 0 = none).
 * inFlight: the committed state says a job was running.
 */
export function resetCause(raw: number, prev: number, bits: ResetRegisterBits | null, bc: number, inFlight: boolean): number {
  const powerOn = inFlight ? RESET_POWER_LOSS : RESET_POWER_ON;
  if (raw < 0 || !bits) return bc || powerOn; // no register: the breadcrumb is all we know
  let fresh = (raw & prev) !== prev ? raw : raw & ~prev;
  if (!fresh) fresh = raw;
  // A power event after the breadcrumb was written wins over the breadcrumb.
  // STM32F4 sets BORRSTF along with PORRSTF at power-on: brown-out only without power-on.
  if (raw === 0 || fresh & bits.powerOn) return powerOn;
  if (fresh & bits.brownOut) return RESET_BROWN_OUT;
  if (fresh & bits.lockup) return RESET_LOCKUP;
  if (fresh & bits.pin && !(fresh & (bits.watchdog | bits.software))) return RESET_PIN;
  if (bc) return bc;
  if (fresh & bits.watchdog) return RESET_WATCHDOG;
  if (fresh & bits.software) return RESET_SOFTWARE;
  if (fresh & bits.pin) return RESET_PIN;
  return powerOn;
}
