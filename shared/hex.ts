/** Eight lowercase hex digits of an unsigned 32-bit value: frame CRCs and the stream job's CRC chain. */
export function hex8(n: number): string {
  return ('0000000' + (n >>> 0).toString(16)).slice(-8);
}
