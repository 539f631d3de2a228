// SPDX-License-Identifier: Apache-2.0
//
// The chat WebSocket (docs/chat.md) for the thread screen: subscribes to
// the submitter's mailbox, hands every pushed Reply to the page, and
// carries follow-up submissions while it is up.  One ChatClientFrame or
// ChatServerFrame per binary WebSocket message.  It adds no trust: the
// replies are opened and the receipts verified by the caller exactly as
// the ones fetched over HTTP.  When the socket cannot open or closes,
// onState("down") tells the page to poll, and it reconnects with
// exponential backoff; onState("live") (after the gateway's "subscribed",
// i.e. after every stored reply was sent) tells it to stop polling.

import { IntakeError } from "./intake.js";
import * as pb from "./pb.js";

const VERSION = 1;
const PING_MS = 20000; // below the gateway's chat_idle_ms (60 s)
const SUBMIT_MS = 30000; // a submission not answered by then goes over HTTP
const BACKOFF_MIN_MS = 1000;
const BACKOFF_MAX_MS = 60000;

// Decodes one server frame; returns {seq, kind, value, pow} or null when
// it is not a frame we understand (wrong version, no kind or two kinds).
export function decodeServerFrame(u8) {
	let f;
	try {
		f = pb.decode(pb.ChatServerFrame, u8, pb.CAPS.CHAT_SERVER);
	} catch (e) {
		return null;
	}
	if (f.version !== VERSION) return null;
	const kinds = ["receipt", "error", "reply", "subscribed"].filter((k) => f[k].length > 0);
	if (f.pong) kinds.push("pong");
	if (kinds.length !== 1) return null;
	const kind = kinds[0];
	return { seq: f.seq, kind, value: kind === "pong" ? true : f[kind], pow: f.pow_difficulty };
}

export function encodeClientFrame(seq, kind, value) {
	const f = { version: VERSION, seq };
	f[kind] = kind === "ping" ? 1 : value;
	return pb.encode(pb.ChatClientFrame, f);
}

export class Chat {
	// url: ws:// or wss:// URL, or a path ("/v1/chat") on the page's own
	// origin.  mailboxId: Uint8Array(32).  onReply(reply) gets each decoded
	// Reply of this mailbox (possibly twice: dedupe by reply_id);
	// onState("live" | "down") follows the subscription.
	constructor(url, mailboxId, onReply, onState) {
		this.url = url;
		this.mailboxId = mailboxId;
		this.onReply = onReply;
		this.onState = onState;
		this.ws = null;
		this.live = false;
		this.stopped = false;
		this.seq = 0;
		this.pending = new Map(); // seq -> {resolve, reject, timer}
		this.backoff = BACKOFF_MIN_MS;
		this.retryTimer = null;
		this.pingTimer = null;
	}

	start() {
		this.stopped = false;
		this.connect();
	}

	stop() {
		this.stopped = true;
		clearTimeout(this.retryTimer);
		this.retryTimer = null;
		this.drop();
	}

	absoluteUrl() {
		if (!this.url.startsWith("/")) return this.url;
		const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
		return scheme + window.location.host + this.url;
	}

	connect() {
		let ws;
		try {
			ws = new WebSocket(this.absoluteUrl());
		} catch (e) {
			// A URL the CSP or the browser refuses: poll for good.
			console.error("chat", e);
			this.down(false);
			return;
		}
		ws.binaryType = "arraybuffer";
		this.ws = ws;
		ws.onopen = () => {
			if (this.ws !== ws) return;
			this.send("subscribe", this.mailboxId);
			this.pingTimer = setInterval(() => this.send("ping"), PING_MS);
		};
		ws.onmessage = (ev) => {
			if (this.ws !== ws) return;
			if (!(ev.data instanceof ArrayBuffer)) return; // text frames: not ours
			this.frame(new Uint8Array(ev.data));
		};
		// An error is always followed by close; close does the work.
		ws.onclose = () => {
			if (this.ws !== ws) return;
			this.drop();
			this.down(true);
		};
	}

	// Forgets the socket and fails what was waiting on it.
	drop() {
		clearInterval(this.pingTimer);
		this.pingTimer = null;
		const ws = this.ws;
		this.ws = null;
		this.live = false;
		if (ws) {
			ws.onopen = ws.onmessage = ws.onclose = null;
			try {
				ws.close();
			} catch (e) {
				// already closing
			}
		}
		for (const p of this.pending.values()) {
			clearTimeout(p.timer);
			p.reject(new IntakeError("network", "chat closed"));
		}
		this.pending.clear();
	}

	down(retry) {
		this.onState("down");
		if (this.stopped || !retry) return;
		// Full jitter, so that many pages do not come back at once.
		const delay = Math.round(this.backoff / 2 + Math.random() * (this.backoff / 2));
		this.backoff = Math.min(this.backoff * 2, BACKOFF_MAX_MS);
		this.retryTimer = setTimeout(() => {
			this.retryTimer = null;
			if (!this.stopped) this.connect();
		}, delay);
	}

	send(kind, value) {
		if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return 0;
		this.seq = (this.seq % 0x7fffffff) + 1;
		this.ws.send(encodeClientFrame(this.seq, kind, value));
		return this.seq;
	}

	frame(u8) {
		const f = decodeServerFrame(u8);
		if (f === null) return; // counted by nobody: the gateway speaks v1 only
		switch (f.kind) {
			case "reply": {
				let r;
				try {
					r = pb.decode(pb.Reply, f.value, pb.CAPS.CHAT_SERVER);
				} catch (e) {
					return;
				}
				if (r.mailbox_id.length === 32 && !sameBytes(r.mailbox_id, this.mailboxId)) return;
				this.onReply(r);
				return;
			}
			case "subscribed":
				if (!sameBytes(f.value, this.mailboxId)) return;
				this.live = true;
				this.backoff = BACKOFF_MIN_MS;
				this.onState("live");
				return;
			case "receipt":
			case "error": {
				const p = this.pending.get(f.seq);
				if (!p) return;
				this.pending.delete(f.seq);
				clearTimeout(p.timer);
				if (f.kind === "receipt") p.resolve(f.value);
				else p.reject(chatRefusal(f.value));
				return;
			}
			default:
				return; // pong
		}
	}

	// Sends a serialized Submission; resolves to the serialized Receipt
	// (unverified), rejects with an IntakeError.  Code "network" means the
	// submission's fate is unknown: the caller posts the same bytes over
	// HTTP (the same sealed bytes are the same submission id).
	submit(bytes) {
		return new Promise((resolve, reject) => {
			if (!this.live) {
				reject(new IntakeError("network", "chat not live"));
				return;
			}
			const seq = this.send("submit", bytes);
			if (seq === 0) {
				reject(new IntakeError("network", "chat not open"));
				return;
			}
			const timer = setTimeout(() => {
				this.pending.delete(seq);
				reject(new IntakeError("network", "chat submit timed out"));
			}, SUBMIT_MS);
			this.pending.set(seq, { resolve, reject, timer });
		});
	}
}

function sameBytes(a, b) {
	if (a.length !== b.length) return false;
	let d = 0;
	for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
	return d === 0;
}

// An Error frame as an IntakeError: a proof-of-work demand or a busy
// socket is "network" (worth posting over HTTP, which solves challenges
// and has its own limits); anything else is the gateway's refusal.
function chatRefusal(bytes) {
	let e = null;
	try {
		e = pb.decode(pb.ErrorMsg, bytes, pb.CAPS.ERROR);
	} catch (x) {
		e = null;
	}
	const name = e ? e.name : "";
	if (name === "pow" || name === "busy") return new IntakeError("network", "chat " + name);
	if (name === "full") return new IntakeError("busy", name);
	if (name === "too_big") return new IntakeError("too_big", name);
	return new IntakeError("server", "chat " + name);
}
