/**
 * The malformed and hostile packet corpus in fixtures/dns/packets. Each file name starts with what
 * the resolver must do with it: drop (no answer), formerr, notimp, refused, servfail (a name it
 * cannot forward), noerror (answered), or any (random bytes: no answer or a well-formed one).
 * Regenerate with: npx tsc -p . && node build/test/unit/dns/packet-corpus.js
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { prng } from '../../helpers/prng';

/** Where the corpus lives, from build/test/unit/dns or test/unit/dns alike. */
export const CORPUS_DIR = path.resolve(__dirname, __dirname.includes(`${path.sep}build${path.sep}`) ? '../../../..' : '../../..', 'fixtures/dns/packets');
/** The known name the corpus asks for; the test server must resolve it for the requester. */
export const KNOWN_NAME = 'web';

/** A DNS header: id 0x1234, RD, opcode and counts as given. */
function header(o: { qr?: boolean; opcode?: number; qd?: number; an?: number; ns?: number; ar?: number } = {}): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(0x1234, 0);
  h[2] = (o.qr ? 0x80 : 0) | ((o.opcode ?? 0) << 3) | 0x01;
  h.writeUInt16BE(o.qd ?? 1, 4);
  h.writeUInt16BE(o.an ?? 0, 6);
  h.writeUInt16BE(o.ns ?? 0, 8);
  h.writeUInt16BE(o.ar ?? 0, 10);
  return h;
}

/** Wire form of a dotted name. */
function name(n: string): Buffer {
  return Buffer.concat([...n.split('.').filter(Boolean).map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);
}

function u16(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => b.writeUInt16BE(v, i * 2));
  return b;
}

/** Question for n: type, class. */
function question(n: string | Buffer, type = 1, cls = 1): Buffer {
  return Buffer.concat([typeof n === 'string' ? name(n) : n, u16(type, cls)]);
}

/** An OPT record: udp size, version, rdata. */
function opt(size = 1232, version = 0, rdata = Buffer.alloc(0), rdlen = rdata.length): Buffer {
  return Buffer.concat([Buffer.from([0]), u16(41, size), Buffer.from([0, version, 0, 0]), u16(rdlen), rdata]);
}

/** Every corpus packet by file name. */
export function corpus(): Map<string, Buffer> {
  const valid = Buffer.concat([header(), question(KNOWN_NAME)]);
  const c = new Map<string, Buffer>([
    ['drop-empty', Buffer.alloc(0)],
    ['drop-one-byte', Buffer.from([0x12])],
    ['drop-short-header', header().subarray(0, 11)],
    ['drop-response-bit', Buffer.concat([header({ qr: true }), question(KNOWN_NAME)])],
    ['drop-response-with-answer', Buffer.concat([header({ qr: true, an: 1 }), question(KNOWN_NAME), u16(0xc00c, 1, 1, 0, 60, 4), Buffer.from([10, 0, 0, 1])])],
    ['formerr-header-only', header()],
    ['formerr-qdcount-zero', header({ qd: 0 })],
    ['formerr-qdcount-two', Buffer.concat([header({ qd: 2 }), question(KNOWN_NAME), question(KNOWN_NAME, 28)])],
    ['formerr-qdcount-65535', Buffer.concat([header({ qd: 65535 }), question(KNOWN_NAME)])],
    ['formerr-compression-self-loop', Buffer.concat([header(), u16(0xc00c, 1, 1)])],
    ['formerr-compression-mutual-loop', Buffer.concat([header(), u16(0xc00e, 0xc00c, 1, 1)])],
    ['formerr-compression-past-end', Buffer.concat([header(), u16(0xc0ff, 1, 1)])],
    ['formerr-label-too-long', Buffer.concat([header(), Buffer.from([64]), Buffer.alloc(64, 0x61), Buffer.from([0]), u16(1, 1)])],
    ['formerr-label-overruns-packet', Buffer.concat([header(), Buffer.from([40]), Buffer.from('short')])],
    ['formerr-name-too-long', Buffer.concat([header(), question(Array.from({ length: 5 }, () => 'a'.repeat(63)).join('.'))])],
    ['formerr-missing-qtype', Buffer.concat([header(), name(KNOWN_NAME), Buffer.from([0])])],
    ['formerr-extended-label-type', Buffer.concat([header(), Buffer.from([0x41, 0x00]), u16(1, 1)])],
    ['formerr-huge-counts', Buffer.concat([header({ an: 65535, ns: 65535, ar: 65535 }), question(KNOWN_NAME)])],
    ['formerr-opt-rdlen-overflow', Buffer.concat([header({ ar: 1 }), question(KNOWN_NAME), opt(1232, 0, Buffer.alloc(4), 1000)])],
    ['formerr-two-opt-records', Buffer.concat([header({ ar: 2 }), question(KNOWN_NAME), opt(), opt()])],
    ['formerr-oversized', Buffer.concat([header({ ar: 1 }), question(KNOWN_NAME), Buffer.alloc(65000, 0xc0)])],
    ['notimp-opcode-status', Buffer.concat([header({ opcode: 2 }), question(KNOWN_NAME)])],
    ['notimp-opcode-update', Buffer.concat([header({ opcode: 5 }), question(KNOWN_NAME)])],
    ['notimp-opcode-15', Buffer.concat([header({ opcode: 15 }), question(KNOWN_NAME)])],
    ['refused-class-chaos', Buffer.concat([header(), question('version.bind', 16, 3)])],
    ['refused-class-zero', Buffer.concat([header(), question(KNOWN_NAME, 1, 0)])],
    ['refused-class-none', Buffer.concat([header(), question(KNOWN_NAME, 1, 254)])],
    ['servfail-label-with-dot', Buffer.concat([header(), Buffer.from([3]), Buffer.from('a.b'), Buffer.from([0]), u16(1, 1)])],
    ['servfail-binary-label', Buffer.concat([header(), Buffer.from([4, 0x00, 0xff, 0x0a, 0x2e, 0]), u16(1, 1)])],
    ['servfail-root-ns', Buffer.concat([header(), Buffer.from([0]), u16(2, 1)])],
    ['noerror-type-any', Buffer.concat([header(), question(KNOWN_NAME, 255)])],
    ['noerror-axfr-over-udp', Buffer.concat([header(), question(KNOWN_NAME, 252)])],
    ['noerror-class-any', Buffer.concat([header(), question(KNOWN_NAME, 1, 255)])],
    ['noerror-mixed-case', Buffer.concat([header(), question('WeB')])],
    ['noerror-trailing-garbage', Buffer.concat([valid, Buffer.alloc(20, 0xee)])],
    ['noerror-edns-size-zero', Buffer.concat([header({ ar: 1 }), question(KNOWN_NAME), opt(0)])],
    ['noerror-edns-version-1', Buffer.concat([header({ ar: 1 }), question(KNOWN_NAME), opt(4096, 1)])],
    ['noerror-edns-cookie', Buffer.concat([header({ ar: 1 }), question(KNOWN_NAME), opt(1232, 0, Buffer.concat([u16(10, 8), Buffer.alloc(8, 7)]))])],
    ['noerror-pointer-chain-additionals', pointerChain()],
  ]);
  const rand = prng(0x75e7);
  for (let i = 0; i < 12; i++) {
    const len = Math.floor(rand() * 600);
    c.set(`any-random-${i}`, Buffer.from(Array.from({ length: len }, () => Math.floor(rand() * 256))));
  }
  for (let i = 0; i < 12; i++) {
    const m = Buffer.from(Buffer.concat([header({ ar: 1 }), question(KNOWN_NAME), opt()]));
    for (let flips = 0; flips < 3; flips++) m[Math.floor(rand() * m.length)] ^= 1 << Math.floor(rand() * 8);
    c.set(`any-mutated-${i}`, m);
  }
  return c;
}

/** 200 additional records whose names point, each through the one before, back to the question: legal but costly to decode. */
function pointerChain(): Buffer {
  const parts = [header({ ar: 200 }), question(KNOWN_NAME)];
  let prev = 12;
  let off = 12 + parts[1].length;
  for (let i = 0; i < 200; i++) {
    parts.push(u16(0xc000 | prev, 1, 1, 0, 0, 4), Buffer.from([10, 0, 0, i]));
    prev = off;
    off += 16;
  }
  return Buffer.concat(parts);
}

/** What the resolver must do with the packet stored under fileName. */
export function expectation(fileName: string): string {
  return fileName.slice(0, fileName.indexOf('-'));
}

if (require.main === module) {
  fs.mkdirSync(CORPUS_DIR, { recursive: true });
  for (const f of fs.readdirSync(CORPUS_DIR)) if (f.endsWith('.bin')) fs.rmSync(path.join(CORPUS_DIR, f));
  for (const [n, bytes] of corpus()) fs.writeFileSync(path.join(CORPUS_DIR, `${n}.bin`), bytes);
  process.stdout.write(`wrote ${corpus().size} packets to ${CORPUS_DIR}\n`);
}
