// SPDX-License-Identifier: Apache-2.0
//
// The gateway's HTTP API (docs/http-api.md), same origin only.  No
// cookies, no cache, no referrer; bodies are protobuf bytes.

import { IntakeError, decodeError } from "./intake.js";
import * as pb from "./pb.js";

const OPTS = {
	credentials: "omit",
	cache: "no-store",
	referrerPolicy: "no-referrer",
	redirect: "error",
};

async function call(method, path, body, cap) {
	let res;
	try {
		res = await fetch(path, {
			...OPTS,
			method,
			headers: body ? { "Content-Type": "application/x-protobuf" } : {},
			body,
		});
	} catch (e) {
		throw new IntakeError("network", String(e));
	}
	const len = Number(res.headers.get("Content-Length") || "0");
	if (len > cap) throw new IntakeError("server", "answer too big");
	let bytes;
	try {
		bytes = new Uint8Array(await res.arrayBuffer());
	} catch (e) {
		throw new IntakeError("network", String(e));
	}
	if (bytes.length > cap) throw new IntakeError("server", "answer too big");
	return { status: res.status, bytes };
}

// Maps a non-200 answer to an IntakeError (the body is an intake.v1.Error).
function refused(status, bytes) {
	const e = decodeError(bytes);
	const name = e ? e.name : "";
	if (status === 429 || status === 503 || name === "busy" || name === "full") {
		return new IntakeError("busy", name);
	}
	if (status === 413 || name === "too_big") return new IntakeError("too_big", name);
	return new IntakeError("server", status + " " + name);
}

// GET /v1/keys: the serialized KeyBundle (unverified: verify before use).
export async function fetchKeys() {
	const r = await call("GET", "/v1/keys", null, pb.CAPS.KEY_BUNDLE);
	if (r.status !== 200) throw refused(r.status, r.bytes);
	return r.bytes;
}

// POST /v1/submissions: the serialized Receipt (unverified).
export async function postSubmission(bytes) {
	const r = await call("POST", "/v1/submissions", bytes,
		pb.CAPS.RECEIPT + pb.CAPS.ERROR);
	if (r.status !== 200) throw refused(r.status, r.bytes);
	return r.bytes;
}

// GET /v1/mailbox/{id}: every Reply, following next_cursor.  An unknown
// mailbox is an empty one (a 404 says nothing to anyone watching).
export async function fetchMailbox(mailboxHex) {
	const replies = [];
	let cursor = "";
	for (let page = 0; page < 64; page++) {
		const path = "/v1/mailbox/" + mailboxHex + (cursor ? "?cursor=" + cursor : "");
		const r = await call("GET", path, null, pb.CAPS.MAILBOX_PAGE);
		if (r.status === 404) return replies;
		if (r.status !== 200) throw refused(r.status, r.bytes);
		let mp;
		try {
			mp = pb.decode(pb.MailboxPage, r.bytes, pb.CAPS.MAILBOX_PAGE);
		} catch (e) {
			throw new IntakeError("server", "undecodable mailbox page");
		}
		replies.push(...mp.replies);
		if (mp.next_cursor.length === 0) return replies;
		cursor = Array.from(mp.next_cursor, (b) => b.toString(16).padStart(2, "0")).join("");
	}
	return replies;
}
