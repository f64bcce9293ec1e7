/** Netlink attributes (struct nlattr): encoders and a parser. Pure functions over Buffers. */
import { NLA_F_NESTED, NLA_TYPE_MASK } from './constants';

/** NLA_ALIGN: attributes and messages are padded to 4 bytes. */
export function align4(n: number): number {
  return (n + 3) & ~3;
}

/** One attribute: u16 length (header + payload, unpadded), u16 type, payload, zero padding. */
export function attr(type: number, payload: Buffer): Buffer {
  const len = 4 + payload.length;
  const buf = Buffer.alloc(align4(len));
  buf.writeUInt16LE(len, 0);
  buf.writeUInt16LE(type, 2);
  payload.copy(buf, 4);
  return buf;
}

/** A NUL-terminated string attribute. */
export function attrStr(type: number, s: string): Buffer {
  return attr(type, Buffer.from(`${s}\0`));
}

/** A u8 attribute. */
export function attrU8(type: number, n: number): Buffer {
  return attr(type, Buffer.from([n]));
}

/** A u16 attribute in host (little-endian) order. */
export function attrU16(type: number, n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return attr(type, b);
}

/** A __be16 attribute (ports): network byte order, which the kernel expects without NLA_F_NET_BYTEORDER. */
export function attrBe16(type: number, n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return attr(type, b);
}

/** A u32 attribute in host (little-endian) order. */
export function attrU32(type: number, n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return attr(type, b);
}

/** A nested attribute; NLA_F_NESTED is set because strict policies refuse a nest without it. */
export function nested(type: number, children: Buffer[]): Buffer {
  return attr(type | NLA_F_NESTED, Buffer.concat(children));
}

/** Attributes by type (flags masked off); a repeated type keeps its last value. */
export type Attrs = Map<number, Buffer>;

/** Parses the attributes in buf from offset to the end; a malformed tail is ignored, as the kernel's nla_parse does. */
export function parseAttrs(buf: Buffer, offset = 0): Attrs {
  const out: Attrs = new Map();
  let off = offset;
  while (off + 4 <= buf.length) {
    const len = buf.readUInt16LE(off);
    if (len < 4 || off + len > buf.length) break;
    out.set(buf.readUInt16LE(off + 2) & NLA_TYPE_MASK, buf.subarray(off + 4, off + len));
    off += align4(len);
  }
  return out;
}

/** A string attribute's value without its NUL terminator. */
export function str(b: Buffer | undefined): string | undefined {
  if (!b) return undefined;
  const nul = b.indexOf(0);
  return b.subarray(0, nul < 0 ? b.length : nul).toString('utf8');
}

/** A u32 attribute's value. */
export function u32(b: Buffer | undefined): number | undefined {
  return b && b.length >= 4 ? b.readUInt32LE(0) : undefined;
}

/** A u16 attribute's value. */
export function u16(b: Buffer | undefined): number | undefined {
  return b && b.length >= 2 ? b.readUInt16LE(0) : undefined;
}
