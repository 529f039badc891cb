// Row → bytes for report files. Rows arrive as arrays (pg rowMode 'array') with the column names known
// from the query's row description. Output is gathered into ~64 KB chunks, so a million rows make a few
// thousand writes, not a million.
//
// CSV follows RFC 4180: CRLF line ends, a header row, and a field is quoted when it holds a comma, a
// double quote, CR or LF, with quotes doubled. SQL NULL is an empty unquoted field; an empty string is `""`
// (as PostgreSQL's COPY … CSV does), so the two stay distinguishable.
// JSON Lines: one JSON object per line, keys in column order.
import { Transform } from 'node:stream';
import type { ReportFormat } from './kinds.ts';

export const contentTypes: Record<ReportFormat, string> = {
  csv: 'text/csv; charset=utf-8; header=present',
  jsonl: 'application/jsonl; charset=utf-8',
};

const NEEDS_QUOTES = /[",\r\n]/;

export function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s: string;
  if (typeof v === 'string') {
    if (v === '') return '""';
    s = v;
  } else if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  else if (v instanceof Date) return v.toISOString();
  else if (Buffer.isBuffer(v)) return `\\x${v.toString('hex')}`;
  else s = JSON.stringify(v);
  return NEEDS_QUOTES.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

export function csvRecord(values: readonly unknown[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) line += (i === 0 ? '' : ',') + csvField(values[i]);
  return `${line}\r\n`;
}

function jsonValue(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return `\\x${v.toString('hex')}`;
  if (typeof v === 'bigint') return v.toString();
  return v;
}

export function jsonLine(columns: readonly string[], values: readonly unknown[]): string {
  const o: Record<string, unknown> = {};
  for (let i = 0; i < columns.length; i++) o[columns[i] as string] = jsonValue(values[i]);
  return `${JSON.stringify(o)}\n`;
}

export interface FormatterStats {
  rows: number;
  bytes: number;
}

const CHUNK = 64 * 1024;

/**
 * A Transform from row arrays to file bytes. `columns()` is asked once, at the first row or at the end
 * (for the CSV header of an empty result). `stats` is updated as chunks leave.
 */
export function createFormatter(format: ReportFormat, columns: () => string[], stats: FormatterStats = { rows: 0, bytes: 0 }) {
  let names: string[] | undefined;
  let buf = '';
  const start = () => {
    names = columns();
    if (format === 'csv') buf += csvRecord(names);
  };
  const emit = (t: Transform) => {
    const chunk = Buffer.from(buf, 'utf8');
    buf = '';
    stats.bytes += chunk.length;
    t.push(chunk);
  };
  return new Transform({
    writableObjectMode: true,
    writableHighWaterMark: 1000,
    readableHighWaterMark: CHUNK,
    transform(row: unknown[], _enc, cb) {
      if (names === undefined) start();
      buf += format === 'csv' ? csvRecord(row) : jsonLine(names as string[], row);
      stats.rows++;
      if (buf.length >= CHUNK) emit(this);
      cb();
    },
    flush(cb) {
      if (names === undefined) start();
      if (buf.length > 0) emit(this);
      cb();
    },
  });
}
