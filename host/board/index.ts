/** The virtual Espruino board (docs/virtual-board.md). */
export { VirtualBoard } from './virtual-board.ts';
export type { VirtualBoardOptions, ResetEvent, BoardState, ErrorFlag, InjectSpec, ResetCause } from './virtual-board.ts';
export { checkInjectSpec } from './faults.ts';
export { PROFILES, profileFor, type BoardProfile, type ProfileName } from './profiles.ts';
export { NorFlash, PowerCutError, FLASH_TIMING } from './flash/nor-flash.ts';
export { EspruinoStorage } from './flash/storage.ts';
export { uploadLines } from './upload.ts';
