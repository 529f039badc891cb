// Where report files live. A small interface so an object store (S3, GCS) can replace the local
// filesystem; the local one is the default (REPORTS_DIR, else DATA_DIR/reports).
// A file becomes visible only on commit(); until then it is a `.part` file that discard() removes.
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { ReportsConfig } from './config.ts';
import { REPORT_ID } from './download-links.ts';

export interface ReportFileMeta {
  id: string;
  report: string;
  format: 'csv' | 'jsonl';
  /** the download's file name */
  filename: string;
  contentType: string;
  rows: number;
  bytes: number;
  createdAt: string;
}

export interface ReportUpload {
  /** write the file's bytes here */
  stream: Writable;
  /** the file becomes visible under its id, with this metadata (call after `stream` finished) */
  commit(meta: ReportFileMeta): Promise<void>;
  /** drop everything written so far (after a failure or cancel); safe to call more than once */
  discard(): Promise<void>;
}

export interface ReportStorage {
  create(id: string): Promise<ReportUpload>;
  /** the metadata of a committed file; null when there is none */
  meta(id: string): Promise<ReportFileMeta | null>;
  /** null when no committed file has this id */
  open(id: string): Promise<{ meta: ReportFileMeta; stream: Readable } | null>;
  remove(id: string): Promise<void>;
  /** removes files committed before `before` and leftovers of crashed runs; returns how many */
  removeOlderThan(before: Date): Promise<number>;
}

export function reportsDir(config: Pick<ReportsConfig, 'REPORTS_DIR' | 'DATA_DIR'>): string {
  return resolve(config.REPORTS_DIR ?? join(config.DATA_DIR, 'reports'));
}

function checkId(id: string) {
  if (!REPORT_ID.test(id)) throw new Error(`bad report id "${id}"`);
}

/** `<id>.data` holds the bytes, `<id>.json` the metadata (written last: its presence means committed). */
export class LocalReportStorage implements ReportStorage {
  constructor(readonly dir: string) {}

  private path(id: string, ext: 'data' | 'json' | 'part') {
    return join(this.dir, `${id}.${ext}`);
  }

  async create(id: string): Promise<ReportUpload> {
    checkId(id);
    await mkdir(this.dir, { recursive: true });
    const part = this.path(id, 'part');
    const handle = await open(part, 'w', 0o600);
    const stream = handle.createWriteStream();
    let done = false;
    return {
      stream,
      commit: async (meta) => {
        await finished(stream);
        await rename(part, this.path(id, 'data'));
        const tmp = `${this.path(id, 'json')}.tmp`;
        await writeFile(tmp, JSON.stringify(meta), { mode: 0o600 });
        await rename(tmp, this.path(id, 'json'));
        done = true;
      },
      discard: async () => {
        if (done) return;
        stream.destroy();
        // wait until the descriptor is closed, so nothing is written after the unlink
        if (!stream.closed) await finished(stream).catch(() => {});
        await rm(part, { force: true });
      },
    };
  }

  async meta(id: string) {
    if (!REPORT_ID.test(id)) return null;
    try {
      const meta = JSON.parse(await readFile(this.path(id, 'json'), 'utf8')) as ReportFileMeta;
      await stat(this.path(id, 'data'));
      return meta;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async open(id: string) {
    const meta = await this.meta(id);
    return meta ? { meta, stream: createReadStream(this.path(id, 'data')) } : null;
  }

  async remove(id: string) {
    checkId(id);
    await rm(this.path(id, 'json'), { force: true });
    await rm(this.path(id, 'data'), { force: true });
  }

  async removeOlderThan(before: Date) {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    let removed = 0;
    for (const name of names) {
      const st = await stat(join(this.dir, name)).catch(() => null);
      if (!st?.isFile() || st.mtime >= before) continue;
      await rm(join(this.dir, name), { force: true });
      if (name.endsWith('.data')) removed++;
    }
    return removed;
  }
}
