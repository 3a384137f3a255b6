/**
 * A streaming ZIP writer: entries are deflated as their data arrives and the
 * bytes go to `sink` as they are produced, so an archive of any size is
 * written holding one batch at a time. Sizes and CRC are not known when an
 * entry starts, so each local header is followed by a data descriptor (bit 3)
 * and the central directory at the end carries the real values. No ZIP64:
 * an archive that would pass 4 GiB (or 65,535 entries) is refused.
 */
import { crc32, createDeflateRaw, type DeflateRaw } from 'node:zlib';

const LIMIT = 0xffffffff;
const UTF8_NAMES = 0x0800;
const DATA_DESCRIPTOR = 0x0008;
const DEFLATE = 8;

export type ZipSink = (bytes: Buffer) => Promise<void>;

interface CentralRecord {
  name: Buffer;
  crc: number;
  compressed: number;
  size: number;
  offset: number;
  time: number;
  date: number;
}

export class ZipTooLargeError extends Error {
  constructor() {
    super('The archive would need ZIP64');
    this.name = 'ZipTooLargeError';
  }
}

/** MS-DOS time and date fields (local time by the format's definition; UTC here, as tools read it). */
function dosTime(at: Date): { time: number; date: number } {
  return {
    time: (at.getUTCHours() << 11) | (at.getUTCMinutes() << 5) | (at.getUTCSeconds() >> 1),
    date: ((at.getUTCFullYear() - 1980) << 9) | ((at.getUTCMonth() + 1) << 5) | at.getUTCDate(),
  };
}

export class ZipWriter {
  private offset = 0;
  private readonly entries: CentralRecord[] = [];
  private open = false;

  constructor(
    private readonly sink: ZipSink,
    private readonly at: Date = new Date(),
  ) {}

  private async emit(bytes: Buffer): Promise<void> {
    if (bytes.length === 0) return;
    if (this.offset + bytes.length > LIMIT) throw new ZipTooLargeError();
    this.offset += bytes.length;
    await this.sink(bytes);
  }

  /** Starts an entry; write its data with `write` and finish it with `end` before the next. */
  async entry(name: string): Promise<ZipEntry> {
    if (this.open) throw new Error('The previous entry is still open');
    if (this.entries.length >= 0xffff) throw new ZipTooLargeError();
    this.open = true;
    const nameBytes = Buffer.from(name, 'utf8');
    const { time, date } = dosTime(this.at);
    const header = Buffer.alloc(30);
    header.writeUInt32LE(0x04034b50, 0);
    header.writeUInt16LE(20, 4);
    header.writeUInt16LE(UTF8_NAMES | DATA_DESCRIPTOR, 6);
    header.writeUInt16LE(DEFLATE, 8);
    header.writeUInt16LE(time, 10);
    header.writeUInt16LE(date, 12);
    // CRC and sizes (14..25) stay zero: the data descriptor carries them.
    header.writeUInt16LE(nameBytes.length, 26);
    const offset = this.offset;
    await this.emit(Buffer.concat([header, nameBytes]));
    return new ZipEntry(this.emit.bind(this), (crc, compressed, size) => {
      this.entries.push({ name: nameBytes, crc, compressed, size, offset, time, date });
      this.open = false;
    });
  }

  /** Writes the central directory; the archive is complete once this resolves. */
  async finish(): Promise<void> {
    if (this.open) throw new Error('An entry is still open');
    const start = this.offset;
    for (const entry of this.entries) {
      const record = Buffer.alloc(46);
      record.writeUInt32LE(0x02014b50, 0);
      record.writeUInt16LE(20, 4);
      record.writeUInt16LE(20, 6);
      record.writeUInt16LE(UTF8_NAMES | DATA_DESCRIPTOR, 8);
      record.writeUInt16LE(DEFLATE, 10);
      record.writeUInt16LE(entry.time, 12);
      record.writeUInt16LE(entry.date, 14);
      record.writeUInt32LE(entry.crc, 16);
      record.writeUInt32LE(entry.compressed, 20);
      record.writeUInt32LE(entry.size, 24);
      record.writeUInt16LE(entry.name.length, 28);
      record.writeUInt32LE(entry.offset, 42);
      await this.emit(Buffer.concat([record, entry.name]));
    }
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(this.entries.length, 8);
    end.writeUInt16LE(this.entries.length, 10);
    end.writeUInt32LE(this.offset - start, 12);
    end.writeUInt32LE(start, 16);
    await this.emit(end);
  }
}

/** One entry being written: data in, deflated bytes out to the archive as they come. */
export class ZipEntry {
  private crc = 0;
  private size = 0;
  private compressed = 0;
  private readonly deflate: DeflateRaw = createDeflateRaw({ level: 6 });
  private pending: Buffer[] = [];
  private readonly ended: Promise<void>;

  constructor(
    private readonly emit: (bytes: Buffer) => Promise<void>,
    private readonly done: (crc: number, compressed: number, size: number) => void,
  ) {
    this.deflate.on('data', (chunk: Buffer) => this.pending.push(chunk));
    this.ended = new Promise((resolve, reject) => {
      this.deflate.once('end', resolve);
      this.deflate.once('error', reject);
    });
  }

  private async drain(): Promise<void> {
    const out = this.pending;
    this.pending = [];
    for (const chunk of out) {
      this.compressed += chunk.length;
      await this.emit(chunk);
    }
  }

  async write(data: string | Buffer): Promise<void> {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    if (bytes.length === 0) return;
    this.crc = crc32(bytes, this.crc);
    this.size += bytes.length;
    if (this.size > LIMIT) throw new ZipTooLargeError();
    await new Promise<void>((resolve, reject) =>
      this.deflate.write(bytes, (error) => (error ? reject(error) : resolve())),
    );
    await this.drain();
  }

  async end(): Promise<void> {
    this.deflate.end();
    await this.ended;
    await this.drain();
    const descriptor = Buffer.alloc(16);
    descriptor.writeUInt32LE(0x08074b50, 0);
    descriptor.writeUInt32LE(this.crc >>> 0, 4);
    descriptor.writeUInt32LE(this.compressed, 8);
    descriptor.writeUInt32LE(this.size, 12);
    await this.emit(descriptor);
    this.done(this.crc >>> 0, this.compressed, this.size);
  }
}
