/**
 * The few protocol-buffer encodings the ONNX export needs (varint, length-delimited),
 * written by hand: an ONNX model is one protobuf message, and a full protobuf library with the
 * ONNX schema would be a large dependency for four message shapes.
 * Wire format: each field is key = (number << 3 | wire type), then the value.
 */

const VARINT = 0;
const LENGTH_DELIMITED = 2;

const utf8 = new TextEncoder();

/** One message under construction: its fields in order, concatenated at the end. */
export class ProtoMessage {
  private readonly parts: Uint8Array[] = [];

  /** int32/int64/enum/bool fields (non-negative values only: ONNX's sizes and enums). */
  varint(field: number, value: number): this {
    this.parts.push(encodeVarint((field << 3) | VARINT), encodeVarint(value));
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.parts.push(encodeVarint((field << 3) | LENGTH_DELIMITED), encodeVarint(value.length), value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value));
  }

  message(field: number, value: ProtoMessage): this {
    return this.bytes(field, value.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

/** Base-128 varint of a non-negative integer up to 2^53 (JavaScript's exact range). */
export function encodeVarint(value: number): Uint8Array {
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`protobuf varint: ${value} is not a non-negative safe integer`);
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Uint8Array.from(out);
}
