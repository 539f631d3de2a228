// SPDX-License-Identifier: Apache-2.0
//
// The page's side of the Intake protocol (docs/protocol.md), the same
// constructions as common/crypto.c and client/client.c: key bundle
// verification against the pinned organisation key, padding to buckets,
// sealing, receipt verification, opening replies.  Every check failure is
// an IntakeError with a stable code the UI turns into a translated
// message; nothing is sent after one.

import sodium from "../vendor/libsodium-wrappers.js";
import * as pb from "./pb.js";

export class IntakeError extends Error {
	// code: a key of the "err_*" strings in i18n (without the prefix).
	constructor(code, detail) {
		super(code + (detail ? ": " + detail : ""));
		this.name = "IntakeError";
		this.code = code;
	}
}

export const PAD_BUCKETS = [512, 2048, 8192, 32768, 131072, 1048576];
export const SEAL_OVERHEAD = 48; // crypto_box_SEALBYTES
export const WIRE_VERSION = 1;

const SIG_CTX = {
	keyBundle: "intake-v1 key-bundle",
	receipt: "intake-v1 receipt",
};

let ready = null;

// Resolves once libsodium's WebAssembly is instantiated.
export function init() {
	if (ready === null) {
		ready = sodium.ready.then(() => sodium);
	}
	return ready;
}

export function sodiumLib() {
	return sodium;
}

// ----------------------------------------------------------- helpers

const te = new TextEncoder();

function concat(...parts) {
	let n = 0;
	for (const p of parts) n += p.length;
	const out = new Uint8Array(n);
	let off = 0;
	for (const p of parts) {
		out.set(p, off);
		off += p.length;
	}
	return out;
}

// context || 0x00 || msg, the signed input of every Intake signature.
function sigInput(ctx, msg) {
	return concat(te.encode(ctx), Uint8Array.of(0), msg);
}

export function toHex(u8) {
	return sodium.to_hex(u8);
}

export function fromHex(s, n) {
	if (typeof s !== "string" || s.length !== 2 * n || !/^[0-9a-fA-F]*$/.test(s)) {
		throw new IntakeError("pin", "pinned key is not " + n + " bytes of hex");
	}
	const out = new Uint8Array(n);
	for (let i = 0; i < n; i++) out[i] = parseInt(s.substr(2 * i, 2), 16);
	return out;
}

export function sha256(u8) {
	return sodium.crypto_hash_sha256(u8);
}

// First 4 bytes (big-endian) of SHA-256("intake-v1 key id" 0x00 || pk).
export function intakeKeyId(pk) {
	const h = sha256(sigInput("intake-v1 key id", pk));
	return new DataView(h.buffer, h.byteOffset, 4).getUint32(0, false);
}

// ------------------------------------------------------------ padding

// The smallest bucket strictly larger than len (sodium_pad always adds
// the 0x80 marker), or 0 if none.
export function padBucket(len) {
	for (const b of PAD_BUCKETS) {
		if (len < b) return b;
	}
	return 0;
}

export function pad(msg) {
	const bucket = padBucket(msg.length);
	if (bucket === 0) throw new IntakeError("too_big");
	// Block size = bucket, so the result is exactly one bucket long.
	const out = sodium.pad(msg, bucket);
	if (out.length !== bucket) throw new IntakeError("internal", "pad length");
	return out;
}

export function sealedLenOk(len) {
	return PAD_BUCKETS.some((b) => len === b + SEAL_OVERHEAD);
}

// ----------------------------------------------------------- key bundle

// Verifies a serialized KeyBundle against the pinned organisation key
// (Uint8Array(32)) and returns its decoded body.  Signature first:
// nothing of an unsigned body is believed.
export function verifyBundle(bytes, orgPk) {
	let bundle, body;
	try {
		bundle = pb.decode(pb.KeyBundle, bytes, pb.CAPS.KEY_BUNDLE);
	} catch (e) {
		throw new IntakeError("bundle", "undecodable bundle");
	}
	if (bundle.signature.length !== 64 || bundle.body.length === 0) {
		throw new IntakeError("bundle", "bad signature length");
	}
	if (!sodium.crypto_sign_verify_detached(bundle.signature,
		sigInput(SIG_CTX.keyBundle, bundle.body), orgPk)) {
		throw new IntakeError("bundle", "signature does not verify");
	}
	try {
		body = pb.decode(pb.KeyBundleBody, bundle.body, pb.CAPS.KEY_BUNDLE);
	} catch (e) {
		throw new IntakeError("bundle", "undecodable body");
	}
	if (body.version !== WIRE_VERSION) throw new IntakeError("bundle", "version");
	if (body.org_public_key.length !== 32 ||
		!sodium.memcmp(body.org_public_key, orgPk)) {
		throw new IntakeError("bundle", "not our organisation key");
	}
	if (body.receipt_public_key.length !== 32) {
		throw new IntakeError("bundle", "receipt key length");
	}
	if (body.intake_keys.length === 0 ||
		body.intake_keys.length > pb.CAPS.BUNDLE_KEYS) {
		throw new IntakeError("bundle", "intake key count");
	}
	for (const k of body.intake_keys) {
		if (k.public_key.length !== 32 || intakeKeyId(k.public_key) !== k.key_id) {
			throw new IntakeError("bundle", "intake key or id");
		}
	}
	return body;
}

// The first intake key valid at now (Unix seconds), as the C client picks.
export function currentIntakeKey(body, now) {
	for (const k of body.intake_keys) {
		if (k.not_before <= now && now <= k.not_after) return k;
	}
	throw new IntakeError("key_expired");
}

// ----------------------------------------------------------- submission

// Builds a Submission: InnerMessage encoded, padded, sealed to the current
// intake key.  Returns {bytes, submissionId}.  Wipes the plaintext.
export function sealSubmission(bundleBody, inner, now) {
	const key = currentIntakeKey(bundleBody, now);
	const plain = pb.encode(pb.InnerMessage, inner);
	if (plain.length > pb.CAPS.INNER) {
		sodium.memzero(plain);
		throw new IntakeError("too_big");
	}
	let padded;
	try {
		padded = pad(plain);
	} finally {
		sodium.memzero(plain);
	}
	const sealed = sodium.crypto_box_seal(padded, key.public_key);
	sodium.memzero(padded);
	const bytes = pb.encode(pb.Submission, {
		version: WIRE_VERSION,
		intake_key_id: key.key_id,
		sealed,
	});
	return { bytes, submissionId: sha256(sealed), intakeKeyId: key.key_id };
}

// Checks a serialized Receipt: signature by the bundle's receipt key over
// "intake-v1 receipt" 0x00 || body, and that it names our submission.
export function verifyReceipt(bytes, bundleBody, submissionId) {
	let rc, body;
	try {
		rc = pb.decode(pb.Receipt, bytes, pb.CAPS.RECEIPT);
	} catch (e) {
		throw new IntakeError("receipt", "undecodable receipt");
	}
	if (rc.signature.length !== 64 ||
		!sodium.crypto_sign_verify_detached(rc.signature,
			sigInput(SIG_CTX.receipt, rc.body), bundleBody.receipt_public_key)) {
		throw new IntakeError("receipt", "signature does not verify");
	}
	try {
		body = pb.decode(pb.ReceiptBody, rc.body, pb.CAPS.RECEIPT);
	} catch (e) {
		throw new IntakeError("receipt", "undecodable body");
	}
	if (body.version !== WIRE_VERSION || body.submission_id.length !== 32 ||
		!sodium.memcmp(body.submission_id, submissionId)) {
		throw new IntakeError("receipt", "does not name our submission");
	}
	return { body, signature: rc.signature, raw: bytes };
}

// ------------------------------------------------------------- replies

// Opens one Reply's sealed bytes with the reply key pair; returns the
// decoded ReplyBody or null if it does not open (one answer, no oracle).
export function openReply(sealed, replyPk, replySk) {
	if (!sealedLenOk(sealed.length)) return null;
	let padded, plain;
	try {
		padded = sodium.crypto_box_seal_open(sealed, replyPk, replySk);
	} catch (e) {
		return null;
	}
	try {
		plain = sodium.unpad(padded, padded.length);
		const body = pb.decode(pb.ReplyBody, plain, pb.CAPS.REPLY_BODY);
		if (body.version !== WIRE_VERSION) return null;
		return body;
	} catch (e) {
		return null;
	} finally {
		sodium.memzero(padded);
	}
}

export function decodeError(bytes) {
	try {
		return pb.decode(pb.ErrorMsg, bytes, pb.CAPS.ERROR);
	} catch (e) {
		return null;
	}
}
