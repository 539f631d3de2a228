// SPDX-License-Identifier: Apache-2.0
//
// Submitter identity, byte for byte as common/passphrase.c (docs/protocol.md,
// "Submitter identity"): 8 random words + 1 checksum word from one list;
// canonical bytes "intake-v1 passphrase" 0x00 || lang || u8 8 || 8 x u16 BE
// index; Argon2id (ops 3, mem 64 MiB, fixed salt) -> 32-byte master;
// crypto_kdf subkeys 1 (reply key pair seed) and 2 (mailbox id), context
// "intakeid".  The lists are common/wordlists/*.txt, compiled into
// vendor/wordlists.js by scripts/fetch-web-deps.sh.

import { WORDLISTS } from "../vendor/wordlists.js";
import { sodiumLib } from "./intake.js";

export const DATA_WORDS = 8;
export const WORDS = DATA_WORDS + 1;
export const WORD_MAX = 10;
export const PASSPHRASE_MAX = 256; // bytes with the C NUL
export const CANON_LEN = 40;
export const OPSLIMIT = 3;
export const MEMLIMIT = 64 * 1024 * 1024;
export const KDF_CTX = "intakeid";
export const SUBKEY_REPLY = 1;
export const SUBKEY_MAILBOX = 2;

// Parse order of the lists, as itk_wordlists[]: en, ru, uk.
export const LIST_ORDER = ["en", "ru", "uk"];

const CANON_CTX = "intake-v1 passphrase";
const CHECKSUM_CTX = "intake-v1 passphrase checksum";
const SALT_CTX = "intake-v1 passphrase salt";

const te = new TextEncoder();

export class PassphraseError extends Error {
	// code: "empty", "count", "too_long", "word" (with .word), "checksum".
	constructor(code, word) {
		super(code);
		this.name = "PassphraseError";
		this.code = code;
		this.word = word;
	}
}

function listOf(lang) {
	return WORDLISTS[lang] || WORDLISTS.en; // "other" means English, as in C
}

// Binary search over the sorted list (byte order = code unit order for
// a-z); -1 if absent.
function findWord(words, w) {
	let lo = 0;
	let hi = words.length;
	while (lo < hi) {
		const mid = (lo + hi) >>> 1;
		if (w === words[mid]) return mid;
		if (w < words[mid]) hi = mid;
		else lo = mid + 1;
	}
	return -1;
}

export function makeCanon(lang, idx) {
	const out = new Uint8Array(CANON_LEN);
	const ctx = te.encode(CANON_CTX);
	let o = 0;
	out.set(ctx, o);
	o += ctx.length + 1; // the 0x00 separator is already 0
	out[o++] = lang.charCodeAt(0);
	out[o++] = lang.charCodeAt(1);
	out[o++] = DATA_WORDS;
	for (let i = 0; i < DATA_WORDS; i++) {
		out[o++] = idx[i] >> 8;
		out[o++] = idx[i] & 0xff;
	}
	return out;
}

// First two bytes (BE) of SHA-256(checksum ctx 0x00 || canon), masked to
// the list size (a power of two).
export function checksumIndex(lang, canon) {
	const s = sodiumLib();
	const ctx = te.encode(CHECKSUM_CTX);
	const input = new Uint8Array(ctx.length + 1 + canon.length);
	input.set(ctx, 0);
	input.set(canon, ctx.length + 1);
	const h = s.crypto_hash_sha256(input);
	const v = ((h[0] << 8) | h[1]) & (listOf(lang).words.length - 1);
	s.memzero(h);
	s.memzero(input);
	return v;
}

// Splits like tokenize() in C: over UTF-8 bytes, separators blank, '-',
// ',', '.'; A-Z folded; any other byte or an 11th letter spoils the word.
function tokenize(text) {
	const bytes = te.encode(text);
	if (bytes.length >= PASSPHRASE_MAX) throw new PassphraseError("too_long");
	const tokens = [];
	let cur = null;
	for (const b of bytes) {
		if (b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0a || b === 0x2d ||
			b === 0x2c || b === 0x2e) {
			cur = null;
			continue;
		}
		if (cur === null) {
			cur = { w: "", bad: false, raw: [] };
			tokens.push(cur);
		}
		cur.raw.push(b);
		let c = b;
		if (c >= 0x41 && c <= 0x5a) c += 0x20;
		if (c < 0x61 || c > 0x7a || cur.w.length >= WORD_MAX) {
			cur.bad = true;
			continue;
		}
		cur.w += String.fromCharCode(c);
	}
	bytes.fill(0);
	return tokens;
}

// Checks the passphrase and returns {lang, canon}; throws PassphraseError.
export function parse(text) {
	const tokens = tokenize(text);
	if (tokens.length === 0) throw new PassphraseError("empty");
	if (tokens.length !== WORDS) throw new PassphraseError("count");
	let sawChecksumFail = false;
	for (const lang of LIST_ORDER) {
		const words = listOf(lang).words;
		const idx = [];
		for (const t of tokens) {
			const k = t.bad ? -1 : findWord(words, t.w);
			if (k < 0) break;
			idx.push(k);
		}
		if (idx.length < WORDS) continue;
		const canon = makeCanon(lang, idx);
		if (checksumIndex(lang, canon) === idx[DATA_WORDS]) return { lang, canon };
		sodiumLib().memzero(canon);
		sawChecksumFail = true;
	}
	if (sawChecksumFail) throw new PassphraseError("checksum");
	// Name the first word no list knows, to help the person fix it.
	for (const t of tokens) {
		const known = !t.bad && LIST_ORDER.some((l) => findWord(listOf(l).words, t.w) >= 0);
		if (!known) {
			throw new PassphraseError("word", new TextDecoder().decode(Uint8Array.from(t.raw)));
		}
	}
	throw new PassphraseError("checksum"); // known words, but from different lists
}

// The passphrase whose data words are idx (8 indices) in lang's list,
// with its checksum word.
export function fromIndices(lang, idx) {
	const words = listOf(lang).words;
	for (const i of idx) {
		if (!Number.isInteger(i) || i < 0 || i >= words.length) throw new RangeError("index");
	}
	const canon = makeCanon(lang, idx);
	const all = [...idx, checksumIndex(lang, canon)];
	sodiumLib().memzero(canon);
	return all.map((i) => words[i]).join(" ");
}

// A new random passphrase in lang's list, never one an earlier list in
// the parse order would also accept (as itk_passphrase_generate).
export function generate(lang) {
	const s = sodiumLib();
	const code = WORDLISTS[lang] ? lang : "en";
	const size = listOf(code).words.length;
	for (let tries = 0; tries < 64; tries++) {
		const idx = [];
		for (let i = 0; i < DATA_WORDS; i++) idx.push(s.randombytes_uniform(size));
		const phrase = fromIndices(code, idx);
		const got = parse(phrase);
		s.memzero(got.canon);
		if (got.lang === code) return phrase;
	}
	throw new Error("passphrase generation failed");
}

export function salt() {
	const s = sodiumLib();
	return s.crypto_hash_sha256(te.encode(SALT_CTX)).slice(0, s.crypto_pwhash_SALTBYTES);
}

export function kdf(canon) {
	const s = sodiumLib();
	return s.crypto_pwhash(32, canon, salt(), OPSLIMIT, MEMLIMIT,
		s.crypto_pwhash_ALG_ARGON2ID13);
}

export function identityFromMaster(master) {
	const s = sodiumLib();
	const seed = s.crypto_kdf_derive_from_key(s.crypto_box_SEEDBYTES, SUBKEY_REPLY, KDF_CTX, master);
	const kp = s.crypto_box_seed_keypair(seed);
	s.memzero(seed);
	const mailbox = s.crypto_kdf_derive_from_key(32, SUBKEY_MAILBOX, KDF_CTX, master);
	return { reply_pk: kp.publicKey, reply_sk: kp.privateKey, mailbox_id: mailbox };
}

// Checks the passphrase and derives the identity {reply_pk, reply_sk,
// mailbox_id, lang}.  Async so the page can paint its status first:
// Argon2id with 64 MiB takes a second or more on a phone.
export async function derive(text) {
	const { lang, canon } = parse(text);
	await new Promise((r) => setTimeout(r, 0));
	const s = sodiumLib();
	let master;
	try {
		master = kdf(canon);
	} finally {
		s.memzero(canon);
	}
	try {
		return { ...identityFromMaster(master), lang };
	} finally {
		s.memzero(master);
	}
}
