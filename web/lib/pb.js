// SPDX-License-Identifier: Apache-2.0
//
// A minimal protobuf (proto3) encoder and decoder for the handful of
// intake.v1 messages the page uses (proto/intake.proto).  Hand-written
// rather than protobufjs: protobufjs generates code with new Function(),
// which the page's Content-Security-Policy forbids, and this is all the
// page needs (varint, length-delimited, fixed32, nested and repeated).
//
// A schema maps field number -> [name, type, repeated?]; type is one of
// "uint32", "uint64", "enum", "fixed32", "bytes", "string" or a schema
// object (nested message).  Decoding is strict about wire types and
// lengths, skips unknown fields as proto3 says, and refuses input over a
// caller-given cap before it looks at it (the caps of proto/wire.h).

const WT_VARINT = 0;
const WT_I64 = 1;
const WT_LEN = 2;
const WT_I32 = 5;

export class PbError extends Error {
	constructor(msg) {
		super(msg);
		this.name = "PbError";
	}
}

function wireTypeOf(type) {
	if (typeof type === "object") return WT_LEN;
	switch (type) {
		case "uint32":
		case "uint64":
		case "enum":
			return WT_VARINT;
		case "fixed32":
			return WT_I32;
		case "bytes":
		case "string":
			return WT_LEN;
		default:
			throw new PbError("unknown field type " + type);
	}
}

// ------------------------------------------------------------- writer

class Writer {
	constructor() {
		this.parts = [];
		this.len = 0;
	}
	byte(b) {
		this.bytes(Uint8Array.of(b));
	}
	bytes(u8) {
		this.parts.push(u8);
		this.len += u8.length;
	}
	varint(v) {
		let n = BigInt(v);
		if (n < 0n || n >= 1n << 64n) throw new PbError("varint out of range");
		const out = [];
		do {
			let b = Number(n & 0x7fn);
			n >>= 7n;
			if (n !== 0n) b |= 0x80;
			out.push(b);
		} while (n !== 0n);
		this.bytes(Uint8Array.from(out));
	}
	fixed32(v) {
		if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
			throw new PbError("fixed32 out of range");
		}
		const b = new Uint8Array(4);
		new DataView(b.buffer).setUint32(0, v, true);
		this.bytes(b);
	}
	finish() {
		const out = new Uint8Array(this.len);
		let off = 0;
		for (const p of this.parts) {
			out.set(p, off);
			off += p.length;
		}
		return out;
	}
}

const utf8enc = new TextEncoder();

function isDefault(type, v) {
	if (v === undefined || v === null) return true;
	if (typeof type === "object") return false; // a present message is sent
	if (type === "bytes") return v.length === 0;
	if (type === "string") return v === "";
	return BigInt(v) === 0n;
}

function writeValue(w, type, v) {
	if (typeof type === "object") {
		const inner = encode(type, v);
		w.varint(inner.length);
		w.bytes(inner);
		return;
	}
	switch (type) {
		case "uint32":
		case "enum":
			if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
				throw new PbError("uint32 out of range");
			}
			w.varint(v);
			return;
		case "uint64":
			w.varint(v);
			return;
		case "fixed32":
			w.fixed32(v);
			return;
		case "bytes":
			if (!(v instanceof Uint8Array)) throw new PbError("bytes wants Uint8Array");
			w.varint(v.length);
			w.bytes(v);
			return;
		case "string": {
			const b = utf8enc.encode(String(v));
			w.varint(b.length);
			w.bytes(b);
			return;
		}
		default:
			throw new PbError("unknown field type " + type);
	}
}

// Serializes obj by schema, fields in ascending number order (as
// protobuf-c does); proto3 default values are left out.
export function encode(schema, obj) {
	const w = new Writer();
	const nums = Object.keys(schema)
		.map(Number)
		.sort((a, b) => a - b);
	for (const num of nums) {
		const [name, type, repeated] = schema[num];
		const v = obj[name];
		const values = repeated ? v || [] : [v];
		for (const item of values) {
			if (!repeated && isDefault(type, item)) continue;
			w.varint((num << 3) | wireTypeOf(type));
			writeValue(w, type, item);
		}
	}
	return w.finish();
}

// ------------------------------------------------------------- reader

const utf8dec = new TextDecoder("utf-8", { fatal: true });

class Reader {
	constructor(u8) {
		this.b = u8;
		this.off = 0;
	}
	done() {
		return this.off >= this.b.length;
	}
	varint() {
		let n = 0n;
		for (let shift = 0n; shift < 70n; shift += 7n) {
			if (this.off >= this.b.length) throw new PbError("truncated varint");
			const byte = this.b[this.off++];
			n |= BigInt(byte & 0x7f) << shift;
			if ((byte & 0x80) === 0) {
				if (n >= 1n << 64n) throw new PbError("varint too long");
				return n;
			}
		}
		throw new PbError("varint too long");
	}
	take(n) {
		if (n > this.b.length - this.off) throw new PbError("truncated field");
		const out = this.b.subarray(this.off, this.off + n);
		this.off += n;
		return out;
	}
	lenDelimited() {
		const n = this.varint();
		if (n > BigInt(this.b.length - this.off)) throw new PbError("truncated field");
		return this.take(Number(n));
	}
	fixed32() {
		const b = this.take(4);
		return new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
	}
	skip(wt) {
		switch (wt) {
			case WT_VARINT:
				this.varint();
				return;
			case WT_I64:
				this.take(8);
				return;
			case WT_LEN:
				this.lenDelimited();
				return;
			case WT_I32:
				this.take(4);
				return;
			default:
				throw new PbError("bad wire type " + wt);
		}
	}
}

function defaultOf(type) {
	if (typeof type === "object") return null;
	switch (type) {
		case "bytes":
			return new Uint8Array(0);
		case "string":
			return "";
		default:
			return 0;
	}
}

function readValue(r, type, depth) {
	if (typeof type === "object") return decodeAt(type, r.lenDelimited(), depth + 1);
	switch (type) {
		case "uint32":
		case "enum": {
			// proto3 truncates a wider varint to 32 bits, like protobuf-c.
			return Number(r.varint() & 0xffffffffn);
		}
		case "uint64": {
			const n = r.varint();
			return n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
		}
		case "fixed32":
			return r.fixed32();
		case "bytes":
			return r.lenDelimited().slice(); // a copy: callers may wipe it
		case "string":
			try {
				return utf8dec.decode(r.lenDelimited());
			} catch (e) {
				throw new PbError("invalid UTF-8 in a string field");
			}
		default:
			throw new PbError("unknown field type " + type);
	}
}

function decodeAt(schema, u8, depth) {
	if (depth > 8) throw new PbError("messages nested too deep");
	const out = {};
	for (const num of Object.keys(schema)) {
		const [name, type, repeated] = schema[num];
		out[name] = repeated ? [] : defaultOf(type);
	}
	const r = new Reader(u8);
	while (!r.done()) {
		const key = r.varint();
		const num = Number(key >> 3n);
		const wt = Number(key & 7n);
		if (num === 0) throw new PbError("field number 0");
		const f = schema[num];
		if (f === undefined) {
			r.skip(wt);
			continue;
		}
		const [name, type, repeated] = f;
		if (wt !== wireTypeOf(type)) throw new PbError("wrong wire type for " + name);
		const v = readValue(r, type, depth);
		if (repeated) out[name].push(v);
		else out[name] = v; // last one wins, as in protobuf
	}
	return out;
}

// Decodes u8 by schema; refuses anything over cap bytes first.
export function decode(schema, u8, cap) {
	if (!(u8 instanceof Uint8Array)) throw new PbError("decode wants Uint8Array");
	if (cap !== undefined && u8.length > cap) throw new PbError("message too big");
	return decodeAt(schema, u8, 0);
}

// ---------------------------------------------------- intake.v1 schemas

export const IntakeKey = {
	1: ["key_id", "fixed32"],
	2: ["public_key", "bytes"],
	3: ["not_before", "uint64"],
	4: ["not_after", "uint64"],
};
export const KeyBundleBody = {
	1: ["version", "uint32"],
	2: ["origin", "string"],
	3: ["issued_at", "uint64"],
	4: ["intake_keys", IntakeKey, true],
	5: ["receipt_public_key", "bytes"],
	6: ["log_public_key", "bytes"],
	7: ["org_public_key", "bytes"],
	8: ["serial", "uint64"],
};
export const KeyBundle = {
	1: ["body", "bytes"],
	2: ["signature", "bytes"],
};
export const ProofOfWork = {
	1: ["challenge", "bytes"],
	2: ["solution", "bytes"],
};
export const Submission = {
	1: ["version", "uint32"],
	2: ["intake_key_id", "fixed32"],
	3: ["sealed", "bytes"],
	4: ["pow", ProofOfWork],
};
export const ReceiptBody = {
	1: ["version", "uint32"],
	2: ["submission_id", "bytes"],
	3: ["accepted_at", "uint64"],
	4: ["intake_key_id", "fixed32"],
	5: ["origin", "string"],
};
export const Receipt = {
	1: ["body", "bytes"],
	2: ["signature", "bytes"],
};
export const Attachment = {
	1: ["media_type", "string"],
	2: ["data", "bytes"],
	3: ["name", "string"],
};
export const Field = {
	1: ["name", "string"],
	2: ["value", "string"],
};
export const InnerMessage = {
	1: ["version", "uint32"],
	2: ["channel", "enum"],
	3: ["form_category", "enum"],
	4: ["language", "string"],
	5: ["text", "string"],
	6: ["fields", Field, true],
	7: ["reply_public_key", "bytes"],
	8: ["mailbox_id", "bytes"],
	9: ["thread_id", "bytes"],
	10: ["attachments", Attachment, true],
	11: ["written_at", "uint64"],
};
export const ReplyBody = {
	1: ["version", "uint32"],
	2: ["text", "string"],
	3: ["sent_at", "uint64"],
	4: ["case_ref", "bytes"],
	5: ["from", "string"],
};
export const Reply = {
	1: ["reply_id", "bytes"],
	2: ["mailbox_id", "bytes"],
	3: ["sealed", "bytes"],
	4: ["posted_at", "uint64"],
};
export const MailboxPage = {
	1: ["mailbox_id", "bytes"],
	2: ["replies", Reply, true],
	3: ["next_cursor", "bytes"],
};
export const ErrorMsg = {
	1: ["code", "uint32"],
	2: ["name", "string"],
	3: ["message", "string"],
	4: ["retry_after", "uint32"],
};

// The chat WebSocket's frames (docs/chat.md).  The oneof members are
// plain fields here: at most one is set, and a frame whose kind is
// unset or doubled is refused by the caller (web/lib/chat.js).  The
// payloads are serialized messages kept as bytes, decoded one by one.
export const ChatClientFrame = {
	1: ["version", "uint32"],
	2: ["seq", "uint32"],
	3: ["submit", "bytes"],
	4: ["subscribe", "bytes"],
	5: ["unsubscribe", "bytes"],
	6: ["ping", "uint32"], // bool: a varint 0/1
};
export const ChatServerFrame = {
	1: ["version", "uint32"],
	2: ["seq", "uint32"],
	3: ["receipt", "bytes"],
	4: ["error", "bytes"],
	5: ["reply", "bytes"],
	6: ["subscribed", "bytes"],
	7: ["pong", "uint32"], // bool
	8: ["pow_difficulty", "uint32"],
};

export const Channel = { UNSPECIFIED: 0, WEB: 1, CHAT: 2, PHONE: 3, CLIENT: 4 };
export const FormCategory = { NONE: 0, SURRENDER: 1, RELATIVE: 2, OTHER: 3 };

// Size caps of proto/wire.h.
export const CAPS = {
	SUBMISSION: 1024 * 1024 + 4096,
	INNER: 1024 * 1024,
	KEY_BUNDLE: 16 * 1024,
	RECEIPT: 1024,
	REPLY_BODY: 1024 * 1024,
	MAILBOX_PAGE: 8 * 1024 * 1024,
	ERROR: 4096,
	CHAT_SERVER: 1024 * 1024 + 48 + 1024 + 64, // ITK_CHAT_SERVER_MAX
	BUNDLE_KEYS: 16,
};
