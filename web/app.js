// SPDX-License-Identifier: Apache-2.0
//
// The submitter's page: screens, translations, and the send / restore
// flows.  Everything secret lives in this module's memory only: no
// cookies, no Web Storage, no IndexedDB, nothing in the URL.  Closing the
// tab forgets it all; "leave" wipes the keys and reloads.

import * as api from "./lib/api.js";
import { Chat } from "./lib/chat.js";
import * as intake from "./lib/intake.js";
import * as pb from "./lib/pb.js";
import * as pass from "./lib/passphrase.js";
import { processPhoto, PhotoError } from "./lib/photo.js";

const LANGS = ["ru", "uk", "en"];
const DEFAULT_LANG = "ru";
const POLL_MS = 10000;

const CATEGORIES = {
	surrender: pb.FormCategory.SURRENDER,
	relative: pb.FormCategory.RELATIVE,
	other: pb.FormCategory.OTHER,
};

const state = {
	lang: DEFAULT_LANG,
	strings: {},
	cache: {},
	screen: "home",
	category: null,
	orgPk: null, // Uint8Array(32) or null when the page has no valid pin
	identity: null, // {passphrase, lang, reply_pk, reply_sk, mailbox_id}
	identityJob: null, // Promise of an identity being derived
	photo: null, // {bytes, width, height}
	thread: [], // {mine, text, time, id}
	seen: new Set(), // reply ids (hex) already shown
	badReplies: 0,
	caseRef: null,
	pollTimer: null,
	chatUrl: "", // from pinned.js: "" means poll only
	chat: null, // the Chat of the open thread, or null
};

const $ = (id) => document.getElementById(id);

// ------------------------------------------------------------ i18n

async function loadStrings(lang) {
	if (!state.cache[lang]) {
		const res = await fetch("i18n/" + lang + ".json", {
			credentials: "omit",
			cache: "no-cache",
		});
		if (!res.ok) throw new Error("i18n " + lang + ": " + res.status);
		state.cache[lang] = await res.json();
	}
	return state.cache[lang];
}

export function t(key, vars) {
	let s = state.strings[key];
	if (typeof s !== "string") s = key; // visible in tests, never silent
	if (vars) {
		for (const [k, v] of Object.entries(vars)) s = s.split("{" + k + "}").join(String(v));
	}
	return s;
}

function applyStrings() {
	document.documentElement.lang = state.lang;
	document.title = t("title");
	for (const el of document.querySelectorAll("[data-i18n]")) {
		el.textContent = t(el.dataset.i18n);
	}
	for (const el of document.querySelectorAll("[data-i18n-aria-label]")) {
		el.setAttribute("aria-label", t(el.dataset.i18nAriaLabel));
	}
	for (const b of document.querySelectorAll(".lang")) {
		b.setAttribute("aria-pressed", b.dataset.lang === state.lang ? "true" : "false");
	}
	// Texts set by the flows keep their key so they follow the language.
	for (const el of document.querySelectorAll("[data-msg]")) {
		el.textContent = t(el.dataset.msg, el.msgVars);
	}
	renderThread();
	renderReceiptTime();
}

async function setLang(lang) {
	if (!LANGS.includes(lang)) return;
	state.strings = await loadStrings(lang);
	state.lang = lang;
	applyStrings();
	// A passphrase not shown yet follows the language of the page.
	if (state.screen === "form" && state.identity === null) prepareIdentity();
}

// Shows a translated message in el (status or alert); null clears it.
function say(el, key, vars) {
	if (key === null) {
		delete el.dataset.msg;
		el.msgVars = undefined;
		el.textContent = "";
		if (el.classList.contains("alert")) el.hidden = true;
		return;
	}
	el.dataset.msg = key;
	el.msgVars = vars;
	el.textContent = t(key, vars);
	el.hidden = false;
}

// ---------------------------------------------------------- screens

function show(screen) {
	for (const s of document.querySelectorAll(".screen")) s.hidden = s.id !== "s-" + screen;
	state.screen = screen;
	const h = $("h-" + screen);
	if (h) h.focus();
	window.scrollTo(0, 0);
	if (screen === "thread") startLive();
	else stopLive();
}

function openForm(cat) {
	state.category = cat;
	const h = $("h-form");
	h.dataset.i18n = "cat_" + cat;
	h.textContent = t("cat_" + cat);
	for (const fs of document.querySelectorAll(".cat-fields")) {
		const on = fs.dataset.for === cat;
		fs.hidden = !on;
		fs.disabled = !on;
	}
	say($("form-alert"), null);
	say($("form-status"), null);
	$("f-text-err").hidden = true;
	show("form");
	prepareIdentity();
}

// ---------------------------------------------------------- identity

// Starts generating and deriving a fresh identity in the page language,
// so the slow KDF runs while the person writes.
function prepareIdentity() {
	const lang = state.lang;
	const job = (async () => {
		await intake.init();
		const phrase = pass.generate(lang);
		const id = await pass.derive(phrase);
		return { ...id, passphrase: phrase, lang };
	})();
	state.identityJob = job;
	job.catch(() => {}); // reported when it is awaited
}

function wipeIdentity() {
	const id = state.identity;
	if (id) {
		const s = intake.sodiumLib();
		for (const k of ["reply_pk", "reply_sk", "mailbox_id"]) {
			if (id[k]) s.memzero(id[k]);
		}
		id.passphrase = "";
	}
	state.identity = null;
	state.identityJob = null;
}

// -------------------------------------------------------------- send

function pinnedKey() {
	if (state.orgPk === null) throw new intake.IntakeError("pin");
	return state.orgPk;
}

async function verifiedBundle() {
	const orgPk = pinnedKey();
	const bytes = await api.fetchKeys();
	return intake.verifyBundle(bytes, orgPk);
}

function collectFields(form) {
	const fields = [];
	const seen = new Set();
	for (const el of form.querySelectorAll(".cat-fields:not([disabled]) input")) {
		const v = el.value.trim();
		if (v === "" || seen.has(el.name)) continue;
		seen.add(el.name);
		fields.push({ name: el.name, value: v });
	}
	return fields;
}

// Seals and posts one InnerMessage (with post, api.postSubmission by
// default); returns {receipt, submissionId}.  Throws before anything is
// sent if the keys do not verify.
async function sendInner(inner, statusEl, post = api.postSubmission) {
	say(statusEl, "status_keys");
	const bundle = await verifiedBundle();
	say(statusEl, "status_encrypting");
	const now = Math.floor(Date.now() / 1000);
	const sub = intake.sealSubmission(bundle, inner, now);
	say(statusEl, "status_sending");
	const rbytes = await post(sub.bytes);
	const receipt = intake.verifyReceipt(rbytes, bundle, sub.submissionId);
	return { receipt, submissionId: sub.submissionId };
}

function errorKey(e) {
	if (e instanceof intake.IntakeError) return "err_" + e.code;
	if (e instanceof PhotoError) return "err_" + e.code;
	if (e instanceof pass.PassphraseError) return "err_pass_" + e.code;
	return "err_internal";
}

function reportError(alertEl, statusEl, e) {
	console.error(e); // developer console only; no network, no storage
	say(statusEl, null);
	const key = errorKey(e);
	say(alertEl, key in state.strings ? key : "err_internal", e && e.word ? { word: e.word } : undefined);
}

async function onSend(ev) {
	ev.preventDefault();
	const form = $("f-message");
	const text = $("f-text").value.trim();
	const alertEl = $("form-alert");
	const statusEl = $("form-status");
	say(alertEl, null);
	if (text === "") {
		$("f-text-err").hidden = false;
		$("f-text").focus();
		return;
	}
	$("f-text-err").hidden = true;
	const btn = $("send");
	btn.disabled = true;
	try {
		say(statusEl, "status_preparing");
		try {
			await intake.init();
		} catch (e) {
			throw new intake.IntakeError("crypto");
		}
		if (state.identityJob === null) prepareIdentity();
		const id = await state.identityJob;
		const inner = {
			version: intake.WIRE_VERSION,
			channel: pb.Channel.WEB,
			form_category: CATEGORIES[state.category] || pb.FormCategory.NONE,
			language: state.lang,
			text,
			fields: collectFields(form),
			reply_public_key: id.reply_pk,
			mailbox_id: id.mailbox_id,
			attachments: state.photo
				? [{ media_type: "image/jpeg", data: state.photo.bytes, name: "photo.jpg" }]
				: [],
			written_at: 0, // the device clock would leak a time zone
		};
		const { receipt, submissionId } = await sendInner(inner, statusEl);
		state.identity = id;
		state.identityJob = null;
		say(statusEl, null);
		showDone(receipt, submissionId, text);
		form.reset();
		clearPhoto();
	} catch (e) {
		reportError(alertEl, statusEl, e);
	} finally {
		btn.disabled = false;
	}
}

function groupHex(hex) {
	return hex.match(/.{1,8}/g).join(" ");
}

let receiptShown = null;

function renderReceiptTime() {
	if (receiptShown) {
		$("receipt-time").textContent = formatTime(receiptShown.accepted_at);
	}
}

function formatTime(unix) {
	if (!unix) return "";
	return new Intl.DateTimeFormat(state.lang, {
		dateStyle: "medium",
		timeStyle: "short",
	}).format(new Date(Number(unix) * 1000));
}

function showDone(receipt, submissionId, text) {
	const id = state.identity;
	const p = $("passphrase");
	p.textContent = id.passphrase;
	p.lang = id.lang;
	$("receipt-id").textContent = groupHex(intake.toHex(submissionId));
	receiptShown = receipt.body;
	renderReceiptTime();
	say($("copy-status"), null);
	addMine(text, intake.toHex(submissionId));
	show("done");
}

async function onCopy() {
	const p = $("passphrase");
	try {
		await navigator.clipboard.writeText(p.textContent);
		say($("copy-status"), "copied");
	} catch (e) {
		const range = document.createRange();
		range.selectNodeContents(p);
		const sel = window.getSelection();
		sel.removeAllRanges();
		sel.addRange(range);
		say($("copy-status"), "copy_failed");
	}
}

function leaveDone() {
	// Shown once: the passphrase leaves the DOM as the thread opens.
	$("passphrase").textContent = "";
	show("thread");
	refreshThread();
}

// ------------------------------------------------------------- photo

function clearPhoto() {
	if (state.photo) intake.sodiumLib().memzero(state.photo.bytes);
	state.photo = null;
	$("f-photo").value = "";
	$("photo-preview").hidden = true;
	const c = $("photo-canvas");
	c.width = 0;
	c.height = 0;
	say($("photo-info"), null);
}

async function onPhoto() {
	const input = $("f-photo");
	const file = input.files && input.files[0];
	const alertEl = $("form-alert");
	say(alertEl, null);
	if (state.photo) intake.sodiumLib().memzero(state.photo.bytes);
	state.photo = null;
	if (!file) {
		clearPhoto();
		return;
	}
	say($("form-status"), "status_photo");
	try {
		const ph = await processPhoto(file, $("photo-canvas"));
		state.photo = ph;
		$("photo-preview").hidden = false;
		say($("photo-info"), "photo_info", {
			w: ph.width,
			h: ph.height,
			kb: Math.ceil(ph.bytes.length / 1024),
		});
		say($("form-status"), null);
	} catch (e) {
		clearPhoto();
		reportError(alertEl, $("form-status"), e);
	}
}

// ------------------------------------------------------------ thread

// Times shown in the thread: the device clock for what was written here
// (the receipt's time is rounded by the gateway), the staff's sent_at for
// replies.  Nothing of it is sent anywhere.
function nowSeconds() {
	return Math.floor(Date.now() / 1000);
}

let seq = 0; // keeps arrival order among equal times

function addMine(text, id) {
	state.thread.push({ mine: true, text, time: nowSeconds(), id, seq: seq++ });
	renderThread();
}

function renderThread() {
	const ol = $("thread");
	if (!ol) return;
	const items = [...state.thread].sort((a, b) => a.time - b.time || a.seq - b.seq);
	ol.replaceChildren(
		...items.map((m) => {
			const li = document.createElement("li");
			li.className = "msg " + (m.mine ? "msg-mine" : "msg-staff");
			const meta = document.createElement("span");
			meta.className = "msg-meta";
			const from = document.createElement("span");
			from.className = "msg-from";
			from.textContent = t(m.mine ? "you" : "staff");
			meta.append(from, " · " + formatTime(m.time));
			const body = document.createElement("span");
			body.className = "msg-text";
			body.textContent = m.text; // text only: never parsed as HTML
			li.append(meta, body);
			return li;
		}),
	);
	$("thread-empty").hidden = state.thread.some((m) => !m.mine);
}

// Opens the replies not shown yet (by reply_id, whether they came by
// polling or over the chat socket) into the thread; returns how many did
// not open.  A reply that does not open is counted each time it is seen
// and never shown.
function takeReplies(id, replies) {
	let bad = 0;
	for (const r of replies) {
		const rid = intake.toHex(r.reply_id);
		if (state.seen.has(rid)) continue;
		const body = intake.openReply(r.sealed, id.reply_pk, id.reply_sk);
		if (body === null) {
			bad++;
			continue;
		}
		state.seen.add(rid);
		if (body.case_ref.length === 32) state.caseRef = body.case_ref;
		state.thread.push({
			mine: false,
			text: body.text,
			time: Number(body.sent_at || r.posted_at) || nowSeconds(),
			id: rid,
			seq: seq++,
		});
	}
	renderThread();
	return bad;
}

async function refreshThread() {
	const id = state.identity;
	if (!id) return;
	const statusEl = $("thread-status");
	try {
		const replies = await api.fetchMailbox(intake.toHex(id.mailbox_id));
		if (state.identity !== id) return; // left meanwhile
		const bad = takeReplies(id, replies);
		state.badReplies = bad;
		const time = new Intl.DateTimeFormat(state.lang, { timeStyle: "short" }).format(new Date());
		if (bad > 0) say(statusEl, "bad_replies", { n: bad });
		else if (state.chat && state.chat.live) say(statusEl, "chat_live");
		else say(statusEl, "checked_at", { time });
	} catch (e) {
		say(statusEl, "err_mailbox");
	}
}

function startPolling() {
	stopPolling();
	state.pollTimer = setInterval(() => {
		if (document.visibilityState === "visible") refreshThread();
	}, POLL_MS);
}

function stopPolling() {
	if (state.pollTimer !== null) clearInterval(state.pollTimer);
	state.pollTimer = null;
}

// The thread is on screen: replies come over the chat socket when the
// page has a chat URL and the socket is up, by polling otherwise (and
// until it is up).  body[data-chat] says which ("live", "polling"), for
// the tests; it holds nothing secret.
function startLive() {
	stopLive();
	const id = state.identity;
	startPolling();
	document.body.dataset.chat = "polling";
	if (!id || state.chatUrl === "") return;
	const chat = new Chat(
		state.chatUrl,
		id.mailbox_id,
		(r) => {
			if (state.identity !== id || state.chat !== chat) return;
			const bad = takeReplies(id, [r]);
			if (bad > 0) {
				state.badReplies += bad;
				say($("thread-status"), "bad_replies", { n: state.badReplies });
			}
		},
		(st) => {
			if (state.chat !== chat) return;
			document.body.dataset.chat = st === "live" ? "live" : "polling";
			if (st === "live") {
				stopPolling();
				if (state.badReplies === 0) say($("thread-status"), "chat_live");
			} else if (state.pollTimer === null) {
				startPolling();
				refreshThread(); // a reply may have come while it was down
			}
		},
	);
	state.chat = chat;
	chat.start();
}

function stopLive() {
	stopPolling();
	if (state.chat) state.chat.stop();
	state.chat = null;
	delete document.body.dataset.chat;
}

// Posts a serialized Submission: over the chat socket while it is live,
// else (or when the socket fails on the way) over HTTP.  The same sealed
// bytes are the same submission, so a resend gets the same receipt.
async function postFollowUp(bytes) {
	const chat = state.chat;
	if (chat && chat.live) {
		try {
			return await chat.submit(bytes);
		} catch (e) {
			if (!(e instanceof intake.IntakeError) || e.code !== "network") throw e;
		}
	}
	return api.postSubmission(bytes);
}

async function onFollow(ev) {
	ev.preventDefault();
	const ta = $("f-follow-text");
	const text = ta.value.trim();
	const alertEl = $("follow-alert");
	const statusEl = $("follow-status");
	say(alertEl, null);
	if (text === "") {
		$("f-follow-err").hidden = false;
		ta.focus();
		return;
	}
	$("f-follow-err").hidden = true;
	const id = state.identity;
	const btn = ev.target.querySelector("button[type=submit]");
	btn.disabled = true;
	try {
		const inner = {
			version: intake.WIRE_VERSION,
			channel: pb.Channel.WEB,
			form_category: pb.FormCategory.NONE,
			language: state.lang,
			text,
			fields: [],
			// Same reply key and mailbox: the worker joins it to the case.
			reply_public_key: id.reply_pk,
			mailbox_id: id.mailbox_id,
			thread_id: state.caseRef || new Uint8Array(0),
			attachments: [],
			written_at: 0,
		};
		const { receipt, submissionId } = await sendInner(inner, statusEl, postFollowUp);
		ta.value = "";
		addMine(text, intake.toHex(submissionId));
		say(statusEl, "sent_receipt", { id: intake.toHex(submissionId).slice(0, 16) });
	} catch (e) {
		reportError(alertEl, statusEl, e);
	} finally {
		btn.disabled = false;
	}
}

// ----------------------------------------------------------- restore

async function onRestore(ev) {
	ev.preventDefault();
	const alertEl = $("restore-alert");
	const statusEl = $("restore-status");
	const input = $("f-pass");
	say(alertEl, null);
	const btn = ev.target.querySelector("button[type=submit]");
	btn.disabled = true;
	try {
		if (input.value.trim() === "") throw new pass.PassphraseError("empty");
		say(statusEl, "status_opening");
		try {
			await intake.init();
		} catch (e) {
			throw new intake.IntakeError("crypto");
		}
		const id = await pass.derive(input.value);
		input.value = "";
		stopLive();
		wipeIdentity();
		state.identity = { ...id, passphrase: "", lang: state.lang };
		state.thread = [];
		state.seen = new Set();
		state.caseRef = null;
		say(statusEl, null);
		show("thread");
		await refreshThread();
	} catch (e) {
		reportError(alertEl, statusEl, e);
		input.focus();
	} finally {
		btn.disabled = false;
	}
}

function leave() {
	stopLive();
	wipeIdentity();
	state.thread = [];
	// A reload drops every object this page held.
	window.location.replace(window.location.pathname);
}

// -------------------------------------------------------------- start

// pinned.js (scripts/web-root.sh): the organisation key, and the chat
// URL if the deployment has one (a ws(s):// URL the CSP names, or a
// path on this origin).
async function loadPin() {
	let m;
	try {
		m = await import("./pinned.js");
	} catch (e) {
		console.error("no pinned.js", e);
		return null;
	}
	const url = typeof m.CHAT_URL === "string" ? m.CHAT_URL : "";
	state.chatUrl = /^(wss?:\/\/[^\s/]+)?\/[A-Za-z0-9._~\/-]*$/.test(url) ? url : "";
	try {
		return intake.fromHex(m.ORG_PUBLIC_KEY, 32);
	} catch (e) {
		console.error("no valid pinned organisation key", e);
		return null;
	}
}

async function start() {
	for (const b of document.querySelectorAll(".lang")) {
		b.addEventListener("click", () => setLang(b.dataset.lang));
	}
	for (const b of document.querySelectorAll(".choice")) {
		b.addEventListener("click", () => openForm(b.dataset.cat));
	}
	for (const b of document.querySelectorAll("[data-go]")) {
		b.addEventListener("click", () => show(b.dataset.go));
	}
	$("go-restore").addEventListener("click", () => {
		say($("restore-alert"), null);
		show("restore");
	});
	$("f-message").addEventListener("submit", onSend);
	$("f-photo").addEventListener("change", onPhoto);
	$("photo-remove").addEventListener("click", clearPhoto);
	$("copy-pass").addEventListener("click", onCopy);
	$("go-thread").addEventListener("click", leaveDone);
	$("refresh").addEventListener("click", refreshThread);
	$("f-follow").addEventListener("submit", onFollow);
	$("f-restore").addEventListener("submit", onRestore);
	$("leave").addEventListener("click", leave);
	window.addEventListener("pagehide", () => {
		stopLive();
		wipeIdentity();
	});

	state.strings = await loadStrings(DEFAULT_LANG);
	applyStrings();
	state.orgPk = await loadPin();
	// WebAssembly may be blocked (some hardened browsers): the page still
	// shows, and sending says why it cannot encrypt.
	await intake.init().catch((e) => console.error("libsodium", e));
	document.body.dataset.ready = "1"; // tests wait for this
}

start().catch((e) => {
	console.error(e);
	document.body.dataset.ready = "error";
});
