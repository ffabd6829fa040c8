import { once } from 'node:events';
import zlib from 'node:zlib';

/** One entry of a zip made here: its bytes as chunks (a run of repeats stays a few chunks), and what it declares. */
export interface ZipPart {
  name: string;
  chunks: Iterable<Buffer>;
  /** The uncompressed size the zip's headers declare, when it is to lie about it. */
  declaredSize?: number;
}

async function deflate(chunks: Iterable<Buffer>): Promise<{ data: Buffer; size: number; crc: number }> {
  const z = zlib.createDeflateRaw({ level: 9, memLevel: 9 });
  const out: Buffer[] = [];
  z.on('data', (d: Buffer) => out.push(d));
  const ended = once(z, 'end');
  let size = 0;
  let crc = 0;
  for (const c of chunks) {
    size += c.length;
    crc = zlib.crc32(c, crc);
    if (!z.write(c)) await once(z, 'drain');
  }
  z.end();
  await ended;
  return { data: Buffer.concat(out), size, crc };
}

/** A zip (deflated entries, no data descriptors) built in memory from its parts' compressed bytes. */
export async function zipOf(parts: ZipPart[]): Promise<Buffer> {
  const local: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const p of parts) {
    const { data, size, crc } = await deflate(p.chunks);
    const name = Buffer.from(p.name, 'utf8');
    const declared = p.declaredSize ?? size;
    const head = Buffer.alloc(30);
    head.writeUInt32LE(0x04034b50, 0);
    head.writeUInt16LE(20, 4);
    head.writeUInt16LE(0x0800, 6);
    head.writeUInt16LE(8, 8);
    head.writeUInt16LE(0x21, 12);
    head.writeUInt32LE(crc >>> 0, 14);
    head.writeUInt32LE(data.length, 18);
    head.writeUInt32LE(declared, 22);
    head.writeUInt16LE(name.length, 26);
    local.push(head, name, data);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0);
    dir.writeUInt16LE(20, 4);
    dir.writeUInt16LE(20, 6);
    dir.writeUInt16LE(0x0800, 8);
    dir.writeUInt16LE(8, 10);
    dir.writeUInt16LE(0x21, 14);
    dir.writeUInt32LE(crc >>> 0, 16);
    dir.writeUInt32LE(data.length, 20);
    dir.writeUInt32LE(declared, 24);
    dir.writeUInt16LE(name.length, 28);
    dir.writeUInt32LE(offset, 42);
    central.push(dir, name);
    offset += head.length + name.length + data.length;
  }
  const dirBytes = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(parts.length, 8);
  end.writeUInt16LE(parts.length, 10);
  end.writeUInt32LE(dirBytes.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...local, dirBytes, end]);
}

/** `times` copies of `unit`, in chunks of about a megabyte (the same buffer each time). */
export function* repeat(unit: string, times: number): Generator<Buffer> {
  const per = Math.max(1, Math.floor((1 << 20) / Buffer.byteLength(unit)));
  const chunk = Buffer.from(unit.repeat(per));
  let left = times;
  for (; left >= per; left -= per) yield chunk;
  if (left > 0) yield Buffer.from(unit.repeat(left));
}

const text = (s: string) => [Buffer.from(s)];

/** A spreadsheet column's letters: 0 is A, 26 is AA. */
function column(i: number): string {
  let s = '';
  for (let n = i + 1; n > 0; n = Math.floor((n - 1) / 26)) s = String.fromCharCode(65 + ((n - 1) % 26)) + s;
  return s;
}

/** A sheet row of `cells` inline-string cells holding `x`. */
export function rowXml(r: number, cells: number): Buffer {
  let xml = `<row r="${r}">`;
  for (let i = 0; i < cells; i++) xml += `<c r="${column(i)}${r}" t="inlineStr"><is><t>x</t></is></c>`;
  return Buffer.from(`${xml}</row>`);
}
const NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"';
const REL_NS = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"';

/**
 * The parts of a one-sheet workbook whose sheet's row 1 is `header` (shared strings 0..n-1); `sharedStrings` and
 * `sheetRows` replace the shared strings after the header's and the sheet's rows after the header.
 */
export function workbookParts(o: {
  header: string[];
  sharedStrings?: Iterable<Buffer>;
  sheetRows?: Iterable<Buffer>;
  sharedStringsDeclared?: number;
}): ZipPart[] {
  const cells = o.header.map((_, i) => `<c r="${column(i)}1" t="s"><v>${i}</v></c>`).join('');
  const sst = function* (): Generator<Buffer> {
    yield Buffer.from(`<?xml version="1.0" encoding="UTF-8"?><sst ${NS}>${o.header.map((h) => `<si><t>${h}</t></si>`).join('')}`);
    if (o.sharedStrings) yield* o.sharedStrings;
    yield Buffer.from('</sst>');
  };
  const sheet = function* (): Generator<Buffer> {
    yield Buffer.from(`<?xml version="1.0" encoding="UTF-8"?><worksheet ${NS}><sheetData><row r="1">${cells}</row>`);
    if (o.sheetRows) yield* o.sheetRows;
    yield Buffer.from('</sheetData></worksheet>');
  };
  return [
    {
      name: '[Content_Types].xml',
      chunks: text('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'),
    },
    {
      name: 'xl/workbook.xml',
      chunks: text(
        `<?xml version="1.0" encoding="UTF-8"?><workbook ${NS} ${REL_NS}><sheets><sheet name="Roll" sheetId="1" r:id="rId1"/></sheets></workbook>`,
      ),
    },
    {
      name: 'xl/_rels/workbook.xml.rels',
      chunks: text(
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
          '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
      ),
    },
    { name: 'xl/worksheets/sheet1.xml', chunks: sheet() },
    { name: 'xl/sharedStrings.xml', chunks: sst(), ...(o.sharedStringsDeclared ? { declaredSize: o.sharedStringsDeclared } : {}) },
  ];
}

/**
 * A 300 KB workbook whose shared strings inflate to 300 MB: one string of 300 million characters, which compresses
 * about 1000 to 1. Read naively (every shared string held), it exhausts the worker's 192 MB heap.
 */
export async function sharedStringsBomb(header: string[], o: { lie?: boolean } = {}): Promise<Buffer> {
  return zipOf(
    workbookParts({
      header,
      sharedStrings: (function* () {
        yield Buffer.from('<si><t>');
        yield* repeat('A', 300 * 1024 * 1024);
        yield Buffer.from('</t></si>');
      })(),
      // the headers claim a small file; only the inflating shows what it is
      ...(o.lie ? { sharedStringsDeclared: 64 * 1024 } : {}),
    }),
  );
}
