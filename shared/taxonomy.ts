/**
 * Reset-cause and fault taxonomy, in the spirit of Memfault's reboot reasons: one 16-bit code
 * space where bit 15 set means "unexpected". Defined once; firmware, host, journal and docs use it.
 */

// ---- Reset causes --------------------------------------------------------------------------
// Expected resets (bit 15 clear)
export const RESET_UNKNOWN = 0x0000;
export const RESET_POWER_ON = 0x0001; // power applied (register reads "power-on", no breadcrumb)
export const RESET_PIN = 0x0002; // reset button / nRST pin
export const RESET_SOFTWARE = 0x0003; // E.reboot() without a fault breadcrumb (user asked)
export const RESET_FIRMWARE_UPDATE = 0x0004; // irqmon flash restarted the board
export const RESET_HOST_REQUEST = 0x0005; // the host directed a restart
// Unexpected resets (bit 15 set)
export const RESET_UNEXPECTED = 0x8000;
export const RESET_WATCHDOG = 0x8001; // hardware watchdog expired with no breadcrumb: a hard hang
export const RESET_TASK_WATCHDOG = 0x8002; // firmware saw the job stall, saved state, let the dog bite
export const RESET_FAULT = 0x8003; // firmware captured a fault, saved state, and rebooted
export const RESET_BROWN_OUT = 0x8004;
export const RESET_LOCKUP = 0x8005; // CPU lockup / hard fault loop
export const RESET_POWER_LOSS = 0x8006; // power-on reset while a job was running (power cut)

export function isUnexpectedReset(code: number): boolean {
  return (code & RESET_UNEXPECTED) !== 0;
}

export const RESET_CAUSE_NAMES: { [code: number]: string } = {
  0x0000: 'unknown',
  0x0001: 'power_on',
  0x0002: 'pin',
  0x0003: 'software',
  0x0004: 'firmware_update',
  0x0005: 'host_request',
  0x8001: 'watchdog',
  0x8002: 'task_watchdog',
  0x8003: 'fault',
  0x8004: 'brown_out',
  0x8005: 'lockup',
  0x8006: 'power_loss',
};

// ---- Fault classes (what the firmware records in a fault record) ----------------------------
export const FAULT_NONE = 0;
export const FAULT_EXCEPTION = 1; // uncaught exception in a callback
export const FAULT_STACK_OVERFLOW = 2; // "Too much recursion" / CALLBACK flag after recursion
export const FAULT_OUT_OF_MEMORY = 3; // MEMORY / LOW_MEMORY error flag
export const FAULT_INTERRUPT_STORM = 4; // FIFO_FULL flag or a source's rate over its limit
export const FAULT_UART_OVERRUN = 5; // UART_OVERFLOW / BUFFER_FULL on the job's UART
export const FAULT_HANG = 6; // job stalled past the task-watchdog deadline, or a hard hang
export const FAULT_ASSERT = 7; // the job's own assertion failed
export const FAULT_POWER_LOSS = 8; // inferred at boot: power-on reset with a job in flight
export const FAULT_BROWN_OUT = 9; // inferred at boot from the reset register
export const FAULT_LINK_NOISE = 10; // host side: CRC failures / garbage on the link

export const FAULT_NAMES = [
  'none',
  'exception',
  'stack_overflow',
  'out_of_memory',
  'interrupt_storm',
  'uart_overrun',
  'hang',
  'assert',
  'power_loss',
  'brown_out',
  'link_noise',
];

// ---- Job states (in checkpoints, heartbeats and boot frames) --------------------------------
export const JOB_IDLE = 0; // no job configured
export const JOB_RUNNING = 1;
export const JOB_HOLDING = 2; // after an unexpected reset, waiting for a directive
export const JOB_DONE = 3;
export const JOB_SAFE_MODE = 4; // halted: monitor alive, job stopped
export const JOB_FAULTED = 5; // fault captured, reset pending

export const JOB_STATE_NAMES = ['idle', 'running', 'holding', 'done', 'safe_mode', 'faulted'];
