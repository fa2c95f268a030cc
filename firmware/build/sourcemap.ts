/**
 * Just enough source-map reading to point build errors at the TypeScript line that caused them:
 * decode a v3 map's VLQ mappings and look a generated position up. Maps never ship with the
 * firmware; they live in memory during the build.
 */

export interface OriginalPosition {
  source: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
}

interface RawMap {
  sources: string[];
  mappings: string;
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DIGIT = new Map([...BASE64].map((c, i) => [c, i]));

export class SourceMapLookup {
  private readonly sources: string[];
  /** Per generated line (0-based): segments [generatedColumn, sourceIndex, sourceLine, sourceColumn], 0-based. */
  private readonly lines: number[][][] = [];

  constructor(mapText: string) {
    const map = JSON.parse(mapText) as RawMap;
    this.sources = map.sources;
    let source = 0;
    let sourceLine = 0;
    let sourceColumn = 0;
    for (const lineText of map.mappings.split(';')) {
      const segments: number[][] = [];
      let column = 0;
      if (lineText) {
        for (const segmentText of lineText.split(',')) {
          const values = decodeVlq(segmentText);
          column += values[0];
          if (values.length >= 4) {
            source += values[1];
            sourceLine += values[2];
            sourceColumn += values[3];
            segments.push([column, source, sourceLine, sourceColumn]);
          }
        }
      }
      this.lines.push(segments);
    }
  }

  /** Where a 1-based generated position came from: the nearest mapped segment at or before it. */
  original(line: number, column: number): OriginalPosition | null {
    for (let l = line - 1; l >= 0 && l >= line - 4; l--) {
      const segments = this.lines[l];
      if (!segments || segments.length === 0) continue;
      let best = segments[0];
      if (l === line - 1) {
        for (const s of segments) if (s[0] <= column - 1) best = s;
      } else {
        best = segments[segments.length - 1];
      }
      return { source: this.sources[best[1]], line: best[2] + 1, column: best[3] + 1 };
    }
    return null;
  }
}

function decodeVlq(text: string): number[] {
  const values: number[] = [];
  let value = 0;
  let shift = 0;
  for (const c of text) {
    const digit = DIGIT.get(c);
    if (digit === undefined) throw new Error(`bad source map character ${c}`);
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
    } else {
      values.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return values;
}
