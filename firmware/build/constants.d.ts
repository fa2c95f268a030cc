/**
 * Constants the firmware build substitutes (firmware/build/pipeline.ts). Firmware code may read them
 * as ordinary identifiers; they become string literals in the bundle.
 */
/** package.json's version, e.g. "0.1.0". */
declare const __FW_VERSION__: string;
/**
 * 8 lowercase hex digits: CRC-32 (zlib's, = E.CRC32) of the raw bundle firmware/dist/irqmon.js as
 * it was with an 8-character placeholder in place of this hash. Both irqmon.js and irqmon.min.js
 * carry the same value, so it identifies the build, not the uploaded variant.
 */
declare const __FW_HASH__: string;
