#!/usr/bin/env node
// SPDX-License-Identifier: Apache-2.0
//
// Browser tests of the submitter page (web/) against the REAL stack:
// tests/browser/stack_up.py starts intake-gateway and intake-worker with
// development keys (and, for the main stack, intake-opd: staff replies go
// through intake-op, the real operator path); the page is served by the gateway from a web root
// that pins that stack's organisation key.  Headless Debian Chromium,
// driven by playwright-core.
//
//   node tests/browser/run.mjs [BUILD_DIR]     (meson: suite 'browser')
//
// Exit 77 (meson: skipped) only when /usr/bin/chromium is absent.  Prints
// one line per check and closes with "N passed, N failed".  Screenshots of
// every screen at 360 px and 1280 px go to BUILD_DIR/tests/browser/screenshots.

import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SRC = path.resolve(HERE, "..", "..");
const BUILD = path.resolve(process.argv[2] || process.env.INTAKE_BUILD_DIR || path.join(SRC, "build"));
const CHROMIUM = "/usr/bin/chromium";
const SHOTS = path.join(BUILD, "tests", "browser", "screenshots");
const PY = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
// Debugging the page without a worker: INTAKE_BROWSER_WORKERS=0 (every
// vault check then fails, as it should).
const WORKERS = Number(process.env.INTAKE_BROWSER_WORKERS ?? 2);

// ------------------------------------------------------------ results

let passed = 0;
let failed = 0;
function check(cond, what, detail) {
	if (cond) {
		passed++;
		console.log("ok   - " + what);
	} else {
		failed++;
		console.log("FAIL - " + what + (detail !== undefined ? "  [" + detail + "]" : ""));
	}
	return cond;
}
function finish() {
	console.log(`${passed} passed, ${failed} failed`);
	return failed ? 1 : 0;
}

async function waitFor(cond, timeoutMs, what) {
	const deadline = Date.now() + timeoutMs;
	let delay = 20;
	for (;;) {
		const v = await cond();
		if (v) return v;
		if (Date.now() > deadline) throw new Error("timed out waiting for " + what);
		await new Promise((r) => setTimeout(r, delay)); // polling interval
		delay = Math.min(delay * 2, 250);
	}
}

function exe(name) {
	for (const sub of ["gateway", "worker", "keys", "client", "tools", "operator", "tests/integration"]) {
		const p = path.join(BUILD, sub, name);
		if (existsSync(p)) return p;
	}
	return null;
}

// ----------------------------------------------------------- preflight

if (!existsSync(CHROMIUM)) {
	console.log("SKIP: " + CHROMIUM + " is not installed (scripts/install-deps.sh installs Debian's chromium)");
	process.exit(77);
}
const missing = [];
for (const f of ["web/vendor/libsodium-wrappers.js", "web/vendor/libsodium-sumo.js",
	"web/vendor/wordlists.js", "tests/browser/node_modules/playwright-core/package.json"]) {
	if (!existsSync(path.join(SRC, f))) missing.push(f);
}
for (const name of ["intake-gateway", "intake-keys"].concat(WORKERS ? ["intake-worker", "intake-vault-ls", "intake-opd", "intake-op"] : [])) {
	if (exe(name) === null) missing.push(path.join(BUILD, "*", name));
}
if (missing.length) {
	console.log("FAIL - missing: " + missing.join(", ") +
		" (run scripts/fetch-web-deps.sh and build " + BUILD + ")");
	failed++;
	process.exit(finish());
}

const { chromium } = await import(path.join(HERE, "node_modules", "playwright-core", "index.mjs"));
const intake = await import(path.join(SRC, "web", "lib", "intake.js"));
const pb = await import(path.join(SRC, "web", "lib", "pb.js"));
const pass = await import(path.join(SRC, "web", "lib", "passphrase.js"));
const chat = await import(path.join(SRC, "web", "lib", "chat.js"));
const { WORDLISTS } = await import(path.join(SRC, "web", "vendor", "wordlists.js"));
await intake.init();

const I18N = {};
for (const l of ["ru", "uk", "en"]) {
	I18N[l] = JSON.parse(readFileSync(path.join(SRC, "web", "i18n", l + ".json"), "utf8"));
}

// ---------------------------------------------- checks without a browser

function staticChecks() {
	// Every string translated, and every key used exists.
	const keys = {};
	for (const l of Object.keys(I18N)) keys[l] = Object.keys(I18N[l]).sort();
	check(JSON.stringify(keys.ru) === JSON.stringify(keys.uk) &&
		JSON.stringify(keys.ru) === JSON.stringify(keys.en), "i18n: ru, uk, en have the same keys");
	const empty = [];
	for (const l of Object.keys(I18N)) {
		for (const [k, v] of Object.entries(I18N[l])) if (typeof v !== "string" || v.trim() === "") empty.push(l + ":" + k);
	}
	check(empty.length === 0, "i18n: no empty string", empty.join(" "));
	const html = readFileSync(path.join(SRC, "web", "index.html"), "utf8");
	const app = readFileSync(path.join(SRC, "web", "app.js"), "utf8");
	const used = new Set();
	for (const m of html.matchAll(/data-i18n(?:-aria-label)?="([a-z_0-9]+)"/g)) used.add(m[1]);
	// String literals shaped like keys on the lines that call t() or say().
	for (const line of app.split("\n").filter((l) => /\bt\(|\bsay\(/.test(l))) {
		for (const m of line.matchAll(/"([a-z][a-z0-9_]*)"/g)) used.add(m[1]);
	}
	// Prefixes completed at run time ("cat_" + category) are not keys.
	const unknown = [...used].filter((k) => k.includes("_") && !k.endsWith("_") && !(k in I18N.ru));
	check(unknown.length === 0 && used.size > 40, "i18n: every key the page uses is translated (" + used.size + " keys)", unknown.join(" "));
	// Keys built at run time: err_<code>, err_pass_<code>, cat_<category>.
	const unused = keys.ru.filter((k) => !used.has(k) && !/^(err_|cat_)/.test(k));
	check(unused.length === 0, "i18n: no unused string", unused.join(" "));
	// Russian by default in the markup itself, before any script runs.
	check(/<html lang="ru">/.test(html), "page: Russian by default (html lang=ru)");

	// The CSP: one meta tag, first in <head>, nothing but same origin.
	const csp = (html.match(/http-equiv="Content-Security-Policy" content="([^"]+)"/) || [])[1] || "";
	check(/default-src 'none'/.test(csp) && /script-src 'self' 'wasm-unsafe-eval';/.test(csp) &&
		!/unsafe-inline|unsafe-eval'|https?:|\*/.test(csp.replace("'wasm-unsafe-eval'", "")),
	"csp: default-src 'none', script-src 'self' 'wasm-unsafe-eval', no inline, no eval, no other origin", csp);
	check(html.indexOf("Content-Security-Policy") < html.indexOf("<script"), "csp: the meta tag comes before any script");
	check(!/<script(?![^>]*\bsrc=)[^>]*>/.test(html) && !/\son[a-z]+=/.test(html) && !/style=/.test(html),
		"page: no inline script, no inline event handler, no inline style");
	check(!/https?:\/\//.test(html.replace(/<!--[\s\S]*?-->/g, "")), "page: no external resource in index.html");

	// Word lists are the same bytes as common/wordlists/*.txt.
	for (const l of ["en", "ru", "uk"]) {
		const raw = readFileSync(path.join(SRC, "common", "wordlists", l + ".txt"));
		const sha = createHash("sha256").update(raw).digest("hex");
		const words = raw.toString("latin1").slice(0, -1).split("\n");
		check(WORDLISTS[l].sha256 === sha && JSON.stringify(WORDLISTS[l].words) === JSON.stringify(words),
			"wordlists: " + l + " module equals common/wordlists/" + l + ".txt (" + words.length + " words)");
	}

	// Padding: the smallest bucket strictly larger than the length.
	const edges = [[0, 512], [511, 512], [512, 2048], [2047, 2048], [2048, 8192], [131071, 131072],
		[131072, 1048576], [1048575, 1048576], [1048576, 0]];
	check(edges.every(([n, b]) => intake.padBucket(n) === b), "pad: bucket edges as common/crypto.c");
	const s = intake.sodiumLib();
	let padOk = true;
	for (const n of [0, 1, 511, 512, 3000]) {
		const m = s.randombytes_buf(n);
		const p = intake.pad(m);
		const u = s.unpad(p, p.length);
		padOk &&= p.length === intake.padBucket(n) && Buffer.compare(Buffer.from(u), Buffer.from(m)) === 0;
	}
	check(padOk, "pad: padded length is the bucket and unpad restores the message");

	// Protobuf codec: round trip, and refusals of damaged input.
	const inner = {
		version: 1, channel: 1, form_category: 2, language: "en", text: "привет",
		fields: [{ name: "unit", value: "42" }], reply_public_key: s.randombytes_buf(32),
		mailbox_id: s.randombytes_buf(32), thread_id: new Uint8Array(0), attachments: [], written_at: 2 ** 40,
	};
	const enc = pb.encode(pb.InnerMessage, inner);
	const dec = pb.decode(pb.InnerMessage, enc);
	check(dec.text === inner.text && dec.fields[0].value === "42" && dec.written_at === 2 ** 40 &&
		Buffer.compare(Buffer.from(dec.mailbox_id), Buffer.from(inner.mailbox_id)) === 0,
	"pb: InnerMessage round trip");
	const bad = [enc.subarray(0, enc.length - 3), Uint8Array.of(0x0a, 0x80), Uint8Array.of(0x08),
		Uint8Array.of(0x2a, 0x05, 0x00), Uint8Array.of(0x00, 0x01), Uint8Array.of(0x2a, 0x02, 0xc3, 0x28)];
	check(bad.every((b) => { try { pb.decode(pb.InnerMessage, b); return false; } catch (e) { return e instanceof pb.PbError; } }),
		"pb: truncated, bad varint, field 0, wrong wire type and bad UTF-8 are refused");
	let capped = false;
	try { pb.decode(pb.KeyBundle, new Uint8Array(pb.CAPS.KEY_BUNDLE + 1)); } catch (e) { capped = true; }
	check(capped, "pb: input over the cap is refused before decoding");

	// Passphrase: generation round-trips, mistakes are caught.
	const phrase = pass.generate("ru");
	const parsed = pass.parse(phrase.toUpperCase().replace(/ /g, " - "));
	check(phrase.split(" ").length === 9 && parsed.lang === "ru", "passphrase: 9 words, parsed back case- and separator-insensitively");
	const words = phrase.split(" ");
	const swapped = [words[1], words[0], ...words.slice(2)].join(" ");
	const errs = [swapped, words.slice(0, 8).join(" "), phrase + " abc", words.slice(0, 8).join(" ") + " zzzz"].map((p) => {
		try { pass.parse(p); return "ok"; } catch (e) { return e.code; }
	});
	check(words[0] === words[1] || errs[0] === "checksum", "passphrase: swapped words fail the checksum", errs[0]);
	check(errs[1] === "count" && errs[2] === "count" && errs[3] === "word", "passphrase: word count and unknown word", errs.join(","));

	// Chat frames (web/lib/chat.js): field numbers of proto/intake.proto.
	const mb = s.randombytes_buf(32);
	const sub = chat.encodeClientFrame(7, "subscribe", mb);
	check(Buffer.from(sub).toString("hex") === "0801" + "1007" + "2220" + Buffer.from(mb).toString("hex") &&
		Buffer.from(chat.encodeClientFrame(9, "ping")).toString("hex") === "080110093001",
	"chat: subscribe and ping frames are the bytes protobuf-c reads (fields 1, 2, 4, 6)");
	const reply = pb.encode(pb.Reply, { reply_id: s.randombytes_buf(16), mailbox_id: mb, sealed: s.randombytes_buf(600), posted_at: 5 });
	const fr = chat.decodeServerFrame(pb.encode(pb.ChatServerFrame, { version: 1, seq: 0, reply }));
	const subd = chat.decodeServerFrame(pb.encode(pb.ChatServerFrame, { version: 1, seq: 0, subscribed: mb }));
	const pong = chat.decodeServerFrame(pb.encode(pb.ChatServerFrame, { version: 1, seq: 3, pong: 1 }));
	const err = chat.decodeServerFrame(pb.encode(pb.ChatServerFrame, { version: 1, seq: 4,
		error: pb.encode(pb.ErrorMsg, { code: 429, name: "pow" }), pow_difficulty: 18 }));
	check(fr && fr.kind === "reply" && Buffer.compare(Buffer.from(fr.value), Buffer.from(reply)) === 0 &&
		subd && subd.kind === "subscribed" && pong && pong.kind === "pong" && pong.seq === 3 &&
		err && err.kind === "error" && err.pow === 18 && err.seq === 4,
	"chat: reply, subscribed, pong and error frames decode (fields 3..8)");
	const badFrames = [
		pb.encode(pb.ChatServerFrame, { version: 2, reply }), // wrong version
		pb.encode(pb.ChatServerFrame, { version: 1 }), // no kind
		pb.encode(pb.ChatServerFrame, { version: 1, reply, subscribed: mb }), // two kinds
		pb.encode(pb.ChatServerFrame, { version: 1, reply }).subarray(0, 20), // truncated
		new Uint8Array(pb.CAPS.CHAT_SERVER + 1), // over the cap
	];
	check(badFrames.every((b) => chat.decodeServerFrame(b) === null),
		"chat: wrong version, no kind, two kinds, truncated and oversized server frames are refused");
}

// The served web root: pinned.js names the chat URL and the CSP's
// connect-src gains exactly its origin, the rest of index.html unchanged.
function webRootChecks(st) {
	const pinned = readFileSync(path.join(st.web_root, "pinned.js"), "utf8");
	check(pinned.includes('export const CHAT_URL = "' + st.chat_url + '";'), "web root: pinned.js names the chat URL", st.chat_url);
	const src = readFileSync(path.join(SRC, "web", "index.html"), "utf8");
	const served = readFileSync(path.join(st.web_root, "index.html"), "utf8");
	const origin = new URL(st.chat_url).origin.replace(/^http/, "ws");
	check(served === src.replace("connect-src 'self';", "connect-src 'self' " + origin + ";") && served !== src,
		"web root: the CSP's connect-src adds exactly the chat origin (" + origin + "), nothing else changed");
}

// ------------------------------------------------------------- the stack

function startStack(extra = []) {
	return new Promise((resolve, reject) => {
		const p = spawn(PY, [path.join(HERE, "stack_up.py"), "--workers", String(WORKERS), ...extra], {
			env: { ...process.env, INTAKE_BUILD_DIR: BUILD },
			stdio: ["pipe", "pipe", "inherit"],
		});
		let out = "";
		const timer = setTimeout(() => reject(new Error("stack did not start in 60 s")), 60000);
		p.stdout.on("data", (d) => {
			out += d;
			const nl = out.indexOf("\n");
			if (nl >= 0) {
				clearTimeout(timer);
				try {
					resolve({ proc: p, ...JSON.parse(out.slice(0, nl)) });
				} catch (e) {
					reject(e);
				}
			}
		});
		p.on("exit", (code) => {
			clearTimeout(timer);
			reject(new Error("stack_up.py exited " + code));
		});
	});
}

async function stopStack(st) {
	if (!st) return;
	const done = new Promise((r) => st.proc.once("exit", r));
	st.proc.stdin.end();
	const t = setTimeout(() => st.proc.kill("SIGKILL"), 30000);
	await done;
	clearTimeout(t);
}

function vaultMessages(st) {
	if (!existsSync(path.join(st.vault, "data.mdb")) || exe("intake-vault-ls") === null) return {};
	const out = execFileSync(exe("intake-vault-ls"), [st.vault], { encoding: "utf8" });
	const msgs = {};
	for (const line of out.split("\n")) {
		if (!line.startsWith("message ")) continue;
		const parts = line.split(" ");
		const f = {};
		for (const kv of parts.slice(2)) {
			const i = kv.indexOf("=");
			f[kv.slice(0, i)] = kv.slice(i + 1);
		}
		msgs[parts[1]] = f;
	}
	return msgs;
}

async function inVault(st, sid) {
	try {
		return await waitFor(() => vaultMessages(st)[sid], 30000, "submission " + sid + " in the vault");
	} catch (e) {
		return null;
	}
}

// A staff action through the real operator path: intake-op (as the
// development operator `who`, dev-init's keys) -> intake-opd, whose loop
// relays the vault outbox to the gateway.  Returns {rc, rows (the --json
// lines), stderr, ms (how long intake-op ran)}.
function opRun(st, who, args) {
	const t0 = Date.now();
	let rc = 0;
	let stdout = "";
	let stderr = "";
	try {
		stdout = execFileSync(exe("intake-op"), ["--key", path.join(st.op_keys, who + ".key"), "--url", st.op_url,
			"--templates", st.op_templates, "--json", ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 60000 });
	} catch (e) {
		rc = e.status ?? -1;
		stdout = String(e.stdout ?? "");
		stderr = String(e.stderr ?? e.message);
	}
	const rows = [];
	for (const line of stdout.split("\n")) {
		if (line) rows.push(JSON.parse(line));
	}
	return { rc, rows, stderr: stderr.trim(), ms: Date.now() - t0 };
}

// The worker tier's reply path (tests/integration/post_reply: the
// worker's own sealing code over the real link), for the chat fallback
// and reconnect stacks, which run no operator service.
function postReply(st, phrase, text) {
	const tool = exe("post_reply");
	if (tool === null) throw new Error("post_reply is not built");
	const dir = mkdtempSync(path.join(tmpdir(), "intake-web-reply-"));
	try {
		const f = path.join(dir, "pass");
		writeFileSync(f, phrase + "\n", { mode: 0o600 });
		execFileSync(tool, [st.link, f, text], { stdio: ["ignore", "ignore", "inherit"] });
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

// ------------------------------------------------------------ browser

const LAUNCH = {
	executablePath: CHROMIUM,
	headless: true,
	args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync"],
};

function hooks(page, st) {
	const h = { requests: [], csp: [], errors: [], sockets: [] };
	page.on("request", (r) => h.requests.push({ method: r.method(), url: r.url() }));
	page.on("websocket", (ws) => h.sockets.push(ws.url()));
	page.on("console", (m) => {
		if (/Content Security Policy|Refused to/.test(m.text())) h.csp.push(m.text());
	});
	page.on("pageerror", (e) => h.errors.push(String(e)));
	return h;
}

async function openPage(context, st, width) {
	const page = await context.newPage();
	await page.setViewportSize({ width, height: width < 600 ? 740 : 900 });
	const h = hooks(page, st);
	await page.goto(st.url + "/");
	await page.waitForSelector("body[data-ready]", { timeout: 20000 });
	return { page, h };
}

async function shot(page, name, widths = [360, 1280]) {
	const vp = page.viewportSize();
	for (const w of widths) {
		await page.setViewportSize({ width: w, height: w < 600 ? 740 : 900 });
		await page.screenshot({ path: path.join(SHOTS, `${name}-${w}.png`), fullPage: true });
	}
	await page.setViewportSize(vp);
}

async function noOverflow(page) {
	return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
}

async function storageEmpty(context, page, secrets, what) {
	const cookies = await context.cookies();
	const st = await page.evaluate(async () => ({
		ls: localStorage.length,
		ss: sessionStorage.length,
		idb: (await indexedDB.databases()).length,
		caches: typeof caches === "undefined" ? 0 : (await caches.keys()).length,
	}));
	const state = JSON.stringify(await context.storageState());
	const leaked = secrets.filter((x) => x && state.includes(x));
	check(cookies.length === 0 && st.ls === 0 && st.ss === 0 && st.idb === 0 && st.caches === 0 && leaked.length === 0,
		"storage: no cookies, localStorage, sessionStorage, IndexedDB or Cache Storage " + what,
		JSON.stringify({ cookies: cookies.length, ...st, leaked: leaked.length }));
}

function sameOrigin(h, st, what) {
	const foreign = h.requests.filter((r) => !r.url.startsWith(st.url + "/") && !r.url.startsWith("data:"));
	check(foreign.length === 0, "network: only same-origin requests " + what, foreign.map((r) => r.url).join(" "));
}

async function visibleText(page, sel) {
	return (await page.locator(sel).innerText()).trim();
}

// Presses Tab until the focused element satisfies pred (keyboard only).
async function tabTo(page, pred, what, arg) {
	for (let i = 0; i < 40; i++) {
		await page.keyboard.press("Tab");
		if (await page.evaluate(pred, arg)) return true;
	}
	throw new Error("keyboard: could not reach " + what);
}

// A JPEG with an EXIF APP1 segment carrying a GPS marker, drawn by the
// browser itself so the test needs no image files or tools.
async function makeExifJpeg(page) {
	const b64 = await page.evaluate(() => {
		const c = document.createElement("canvas");
		c.width = 2000;
		c.height = 1500;
		const g = c.getContext("2d");
		const grad = g.createLinearGradient(0, 0, 2000, 1500);
		grad.addColorStop(0, "#345");
		grad.addColorStop(1, "#dca");
		g.fillStyle = grad;
		g.fillRect(0, 0, 2000, 1500);
		g.fillStyle = "#b22";
		g.fillRect(400, 300, 600, 500);
		g.font = "120px sans-serif";
		g.fillStyle = "#fff";
		g.fillText("TEST PHOTO", 500, 1100);
		return c.toDataURL("image/jpeg", 0.9).split(",")[1];
	});
	const jpeg = Buffer.from(b64, "base64");
	const payload = Buffer.concat([Buffer.from("Exif\0\0MM\0*\0\0\0\x08", "latin1"),
		Buffer.from("GPSLatitude=48.5955N GPSLongitude=38.0011E INTAKE-EXIF-MARKER", "latin1")]);
	const app1 = Buffer.alloc(4);
	app1[0] = 0xff;
	app1[1] = 0xe1;
	app1.writeUInt16BE(payload.length + 2, 2);
	return Buffer.concat([jpeg.subarray(0, 2), app1, payload, jpeg.subarray(2)]);
}

// ------------------------------------------------------------ scenarios

const RU = I18N.ru;
const EN = I18N.en;
const UK = I18N.uk;
const CYRILLIC = /[А-Яа-яЁёІіЇїЄєҐґ]/;

async function surrenderRu(browser, st, ctx) {
	const context = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: "en-US" });
	await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: st.url });
	const { page, h } = await openPage(context, st, 360);
	check(await page.evaluate(() => document.documentElement.lang) === "ru" &&
		await visibleText(page, "#h-home") === RU.home_title, "ru: the page opens in Russian (browser locale en-US)");
	check(await noOverflow(page), "360px: home fits without horizontal scrolling");
	await shot(page, "home");
	await page.getByRole("button", { name: new RegExp(RU.cat_surrender) }).click();
	check(await page.locator("#s-form").isVisible() && await visibleText(page, "#h-form") === RU.cat_surrender,
		"ru: surrender form opens");
	check(await page.locator("[data-for=relative]").isHidden(), "ru: only the surrender fields are shown");
	// Labelled fields: found by their visible label text.
	const marker = "MARK-" + Date.now();
	await page.getByLabel(RU.f_where, { exact: true }).fill("Лесополоса у высоты 210, квадрат 14");
	await page.getByLabel(RU.f_when, { exact: true }).fill("завтра на рассвете");
	await page.getByLabel(RU.f_how_many, { exact: true }).fill("3");
	// "How to reach you" exists in each path's fieldset: the visible one.
	await page.getByLabel(RU.f_contact, { exact: true }).filter({ visible: true }).fill("сигнал +7 900 000 00 00");
	const text = "Хочу сдаться в плен. Нас трое, без оружия выйдем к вашим позициям. " + marker;
	await page.getByRole("textbox", { name: new RegExp(RU.f_message) }).fill(text);
	check(await noOverflow(page), "360px: form fits without horizontal scrolling");
	await shot(page, "form-surrender");
	await page.getByRole("button", { name: RU.send }).click();
	await page.waitForSelector("#s-done:not([hidden])", { timeout: 60000 });
	const phrase = (await visibleText(page, "#passphrase")).trim();
	const sid = (await visibleText(page, "#receipt-id")).replace(/\s+/g, "");
	check(phrase.split(" ").length === 9, "ru: passphrase shown, 9 words", phrase);
	check(pass.parse(phrase).lang === "ru", "ru: passphrase is from the Russian list and has a valid checksum");
	check(/^[0-9a-f]{64}$/.test(sid), "ru: receipt shown with the submission id", sid);
	check(await visibleText(page, "#h-done") === RU.done_title && (await page.locator(".passbox .warn").innerText()).includes("один раз"),
		"ru: delivery confirmed, with the shown-once warning");
	check(await noOverflow(page), "360px: receipt and passphrase fit without horizontal scrolling");
	await shot(page, "done");
	const m = await inVault(st, sid);
	check(m !== null && m.queue === "surrender", "vault: the surrender message landed in queue surrender", JSON.stringify(m));
	check(m !== null && m.language === "ru", "vault: language ru", m && m.language);
	// The copy button.
	await page.getByRole("button", { name: RU.copy }).click();
	await page.waitForSelector("#copy-status:not(:empty)");
	const clip = await page.evaluate(() => navigator.clipboard.readText());
	check(clip === phrase && (await visibleText(page, "#copy-status")) === RU.copied, "ru: copy button puts the passphrase on the clipboard");
	// Thread: the passphrase leaves the screen for good.
	await page.getByRole("button", { name: RU.open_thread }).click();
	await page.waitForSelector("#s-thread:not([hidden])");
	check(await page.locator("#passphrase").innerText() === "" &&
		!(await page.evaluate(() => document.body.innerText)).includes(phrase), "ru: passphrase no longer on the page after it was shown");
	check((await page.locator("#thread .msg-mine").innerText()).includes(marker), "ru: the thread shows the sent message");
	await waitFor(() => page.locator("#thread-status").innerText().then((t) => t.length > 0), 15000, "mailbox check");
	check(await page.locator("#thread-empty").isVisible(), "ru: thread says no reply yet");
	// The chat socket subscribes to the mailbox; polling stops.
	const live = await waitFor(() => page.evaluate(() => document.body.dataset.chat === "live"), 10000, "chat live").catch(() => false);
	check(live && h.sockets.length === 1 && h.sockets[0] === st.chat_url &&
		await visibleText(page, "#thread-status") === RU.chat_live, "chat: the thread subscribes over the chat WebSocket and says so",
	JSON.stringify(h.sockets));
	// A follow-up from the page joins the same case; it goes over the socket.
	const postsBefore = h.requests.filter((r) => r.method === "POST").length;
	await page.getByLabel(RU.follow_label).fill("Ещё: с нами раненый. " + marker);
	await page.locator("#f-follow button[type=submit]").click();
	await waitFor(() => page.locator("#follow-status").innerText().then((t) => t.startsWith(RU.sent_receipt.split("{")[0])), 60000, "follow-up receipt");
	check(h.requests.filter((r) => r.method === "POST").length === postsBefore,
		"chat: the follow-up went over the socket (no HTTP POST) and its receipt verified");
	// A staff reply made while the thread is open is pushed at once.  The
	// operator claims the page's case from the surrender queue and answers
	// it with intake-op, the real operator path.
	const claim = opRun(st, "dev-triage", ["next", "surrender"]);
	const claimed = claim.rows.filter((x) => x.type === "case").map((x) => x.case);
	check(claim.rc === 0 && m !== null && claimed.length === 1 && claimed[0] === m.case,
		"operator: intake-op next surrender claims the page's case", claim.stderr || JSON.stringify(claimed));
	const reply = "Мы получили ваше сообщение и свяжемся с вами. REPLY-" + marker;
	const polledBefore = h.requests.filter((r) => r.url.includes("/v1/mailbox/")).length;
	// The page notes (its own clock, the same as ours) when the reply
	// shows, so the time is exact rather than our polling's.
	await page.evaluate((want) => {
		const thread = document.getElementById("thread");
		const seen = () => [...thread.querySelectorAll(".msg-staff")].some((x) => x.innerText.includes(want));
		const o = new MutationObserver(() => {
			if (window.__replyShownAt === undefined && seen()) {
				window.__replyShownAt = Date.now();
				o.disconnect();
			}
		});
		o.observe(thread, { childList: true, subtree: true, characterData: true });
	}, reply);
	const sent = opRun(st, "dev-triage", ["reply", claimed[0] ?? "0".repeat(64), "--text", reply]);
	const tReturned = Date.now();
	check(sent.rc === 0, "operator: intake-op reply " + (sent.rc === 0 ? "(" + sent.ms + " ms)" : "failed"), sent.stderr);
	const arrived = await waitFor(() => page.locator("#thread .msg-staff").allInnerTexts()
		.then((a) => a.some((x) => x.includes(reply))), 20000, "the staff reply").catch(() => false);
	const shownAt = arrived ? await page.evaluate(() => window.__replyShownAt) : undefined;
	const dt = typeof shownAt === "number" ? shownAt - tReturned : Infinity;
	check(arrived && sent.rc === 0 && dt <= 2000, "chat: an operator reply (intake-op reply) made while the page is open appears " +
		"within 2 s of intake-op returning, without reload (" + dt + " ms after it returned; intake-op took " + sent.ms + " ms, " +
		(dt + sent.ms) + " ms from its start)");
	check(arrived && h.requests.filter((r) => r.url.includes("/v1/mailbox/")).length === polledBefore,
		"chat: the reply came over the socket (no mailbox fetch meanwhile)");
	check(arrived && (await page.locator("#thread .msg-staff .msg-from").first().innerText()) === RU.staff &&
		await page.locator("#thread-empty").isHidden(), "ru: the reply is labelled as from staff");
	await shot(page, "thread");
	check(await page.locator("#thread .msg-mine").count() === 2, "ru: the follow-up appears in the thread");
	const all = await waitFor(() => {
		const v = vaultMessages(st);
		const same = Object.values(v).filter((x) => x.case === m.case);
		return same.length >= 2 ? same : null;
	}, 30000, "follow-up in the vault").catch(() => null);
	check(all !== null, "vault: the page's follow-up joined the same case (same mailbox id)");
	check(h.csp.length === 0 && h.errors.length === 0, "csp: no violation and no page error in the surrender flow",
		h.csp.concat(h.errors).join(" | "));
	sameOrigin(h, st, "in the surrender flow");
	await storageEmpty(context, page, [phrase, marker], "after the surrender flow");
	// Closing the tab forgets everything: a new tab starts from scratch.
	await page.close();
	const again = await openPage(context, st, 360);
	check(await again.page.locator("#s-home").isVisible() &&
		!(await again.page.evaluate(() => document.body.innerText)).includes(marker), "tab closed: a new tab shows nothing of the flow");
	await storageEmpty(context, again.page, [phrase, marker], "after the tab closed");
	await context.close();
	ctx.phrase = phrase;
	ctx.caseRu = m ? m.case : null;
	ctx.marker = marker;
}

async function relativeEn(browser, st, ctx) {
	const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
	const { page, h } = await openPage(context, st, 1280);
	// The photo step first checks the re-encoder alone, in this page.
	const exifJpeg = await makeExifJpeg(page);
	check(exifJpeg.includes("INTAKE-EXIF-MARKER"), "photo: test JPEG carries EXIF GPS data");
	const ph = await page.evaluate(async (b64) => {
		const { processPhoto, hasMetadata } = await import("/lib/photo.js");
		const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
		const r = await processPhoto(new File([bytes], "x.jpg", { type: "image/jpeg" }), document.createElement("canvas"));
		const text = Array.from(r.bytes, (c) => String.fromCharCode(c)).join("");
		return { w: r.width, h: r.height, n: r.bytes.length, meta: hasMetadata(r.bytes), marker: text.includes("INTAKE-EXIF-MARKER"), exif: text.includes("Exif") };
	}, exifJpeg.toString("base64"));
	check(!ph.marker && !ph.exif && !ph.meta, "photo: re-encoded JPEG has no EXIF/GPS", JSON.stringify(ph));
	check(ph.w === 1280 && ph.h === 960 && ph.n <= 480 * 1024, "photo: scaled to 1280x960 within 480 KiB", JSON.stringify(ph));

	// Keyboard only: language, path, fields, send.
	await tabTo(page, () => document.activeElement && document.activeElement.dataset.lang === "en", "the English button");
	await page.keyboard.press("Enter");
	await waitFor(() => page.evaluate(() => document.documentElement.lang === "en"), 5000, "English");
	check(await visibleText(page, "#h-home") === EN.home_title, "en: switched to English with the keyboard");
	const mainText = await page.locator("main").innerText();
	check(!CYRILLIC.test(mainText), "en: no Russian or Ukrainian text left on the English screen");
	await shot(page, "home-en");
	await tabTo(page, () => document.activeElement && document.activeElement.dataset.cat === "relative", "the relative choice");
	await page.keyboard.press("Enter");
	await page.waitForSelector("#s-form:not([hidden])");
	check(await page.evaluate(() => document.activeElement.id) === "h-form", "keyboard: focus moves to the form's heading");
	check(await visibleText(page, "#h-form") === EN.cat_relative, "en: relative form opens");
	const marker = "MARK-" + Date.now();
	const typed = [
		["f-full-name", "Ivan Petrovich Sidorov"],
		["f-dob", "23.04.1998"],
		["f-unit", "military unit 12345"],
		["f-last-contact", "phone call on 2 March from near Kupiansk"],
		["f-relationship", "mother"],
		["f-contact-r", "+7 900 000 00 01"],
		["f-text", "My son was captured near Kupiansk in March. Is he a prisoner of war? Is he alive? " + marker],
	];
	for (const [id, value] of typed) {
		await tabTo(page, (i) => document.activeElement && document.activeElement.id === i, id, id);
		await page.keyboard.type(value);
	}
	const values = await page.evaluate((ids) => ids.map((i) => document.getElementById(i).value), typed.map((x) => x[0]));
	check(values.every((v, i) => v === typed[i][1]), "keyboard: every relative field reached with Tab and typed into", JSON.stringify(values));
	const tabTarget = async (id) => page.evaluate((i) => document.activeElement.id === i, id);
	await page.locator("#f-photo").setInputFiles({ name: "son.jpg", mimeType: "image/jpeg", buffer: exifJpeg });
	await page.waitForSelector("#photo-preview:not([hidden])", { timeout: 20000 });
	check((await visibleText(page, "#photo-info")).startsWith("1280×960"), "en: photo preview shows the scaled size", await visibleText(page, "#photo-info"));
	check(!CYRILLIC.test(await page.locator("main").innerText()), "en: form has no Russian or Ukrainian text");
	await shot(page, "form-relative");
	await tabTo(page, () => document.activeElement && document.activeElement.id === "send", "the send button");
	check(await tabTarget("send"), "keyboard: the send button is reachable");
	await page.keyboard.press("Enter");
	await page.waitForSelector("#s-done:not([hidden])", { timeout: 60000 });
	const phrase = (await visibleText(page, "#passphrase")).trim();
	const sid = (await visibleText(page, "#receipt-id")).replace(/\s+/g, "");
	check(pass.parse(phrase).lang === "en", "en: passphrase from the English list", phrase);
	check(!CYRILLIC.test(await page.locator("main").innerText()), "en: receipt screen has no Russian or Ukrainian text");
	const m = await inVault(st, sid);
	check(m !== null && m.queue === "captivity", "vault: the relative's message landed in queue captivity", JSON.stringify(m));
	check(m !== null && Number(m.bytes) >= 32768 + 48, "vault: the sealed message carries the photo (bucket >= 32 KiB)", m && m.bytes);
	check(h.csp.length === 0 && h.errors.length === 0, "csp: no violation and no page error in the relative flow",
		h.csp.concat(h.errors).join(" | "));
	sameOrigin(h, st, "in the relative flow");
	await storageEmpty(context, page, [phrase, marker], "after the relative flow");
	await context.close();
}

async function languages(browser, st) {
	const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
	const { page } = await openPage(context, st, 360);
	await page.getByRole("button", { name: "Українська" }).click();
	await waitFor(() => page.evaluate(() => document.documentElement.lang === "uk"), 5000, "Ukrainian");
	const mismatched = await page.evaluate((uk) => {
		const bad = [];
		for (const el of document.querySelectorAll("[data-i18n]")) {
			if (el.textContent !== uk[el.dataset.i18n]) bad.push(el.dataset.i18n);
		}
		return bad;
	}, UK);
	check(mismatched.length === 0 && await page.title() === UK.title, "uk: every string switched to Ukrainian", mismatched.join(" "));
	check(await page.getByRole("button", { name: "Українська" }).getAttribute("aria-pressed") === "true", "uk: the language button says it is pressed");
	await shot(page, "home-uk", [360]);
	await page.getByRole("button", { name: new RegExp(UK.cat_relative) }).click();
	check(await page.getByLabel(UK.f_full_name, { exact: true }).isVisible(), "uk: relative form labelled in Ukrainian");
	await page.getByRole("button", { name: "Русский" }).click();
	await waitFor(() => page.evaluate(() => document.documentElement.lang === "ru"), 5000, "Russian");
	check(await visibleText(page, "#h-form") === RU.cat_relative && await page.getByLabel(RU.f_full_name, { exact: true }).isVisible(),
		"ru: switching back translates the open form too");
	// Empty message: a translated error, nothing sent.
	await page.getByRole("button", { name: RU.send }).click();
	check(await page.locator("#f-text-err").isVisible() && await visibleText(page, "#f-text-err") === RU.err_empty,
		"ru: an empty message is refused with a Russian error");
	await context.close();
}

async function restore(browser, st, ctx) {
	// A fresh profile with the passphrase made by the page.
	const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
	const { page, h } = await openPage(context, st, 360);
	await page.getByRole("button", { name: RU.have_passphrase }).click();
	await page.waitForSelector("#s-restore:not([hidden])");
	await shot(page, "restore");
	const words = ctx.phrase.split(" ");
	// A mistyped passphrase is caught on the device.
	await page.getByLabel(RU.restore_label).fill([words[0] + "x", ...words.slice(1)].join(" "));
	await page.getByRole("button", { name: RU.restore_go }).click();
	await page.waitForSelector("#restore-alert:not([hidden])");
	check((await visibleText(page, "#restore-alert")).startsWith(RU.err_pass_word.split("«")[0]), "restore: an unknown word is named",
		await visibleText(page, "#restore-alert"));
	const mb = h.requests.filter((r) => r.url.includes("/v1/mailbox/"));
	check(mb.length === 0, "restore: nothing is fetched for a mistyped passphrase");
	await shot(page, "restore-error", [360]);
	// Typed in capitals with dashes: still the same identity.
	await page.getByLabel(RU.restore_label).fill(ctx.phrase.toUpperCase().split(" ").join("-"));
	await page.getByRole("button", { name: RU.restore_go }).click();
	await page.waitForSelector("#s-thread:not([hidden])", { timeout: 30000 });
	await waitFor(() => page.locator("#thread-status").innerText().then((t) => t.length > 0), 15000, "mailbox check");
	const id = await pass.derive(ctx.phrase);
	const want = st.url + "/v1/mailbox/" + intake.toHex(id.mailbox_id);
	check(await waitFor(() => h.requests.some((r) => r.url === want), 10000, "mailbox fetch").catch(() => false),
		"restore: the page fetched the passphrase's mailbox");
	check((await page.locator("#thread .msg-staff").allInnerTexts()).some((x) => x.includes("REPLY-" + ctx.marker)),
		"restore: a fresh profile shows the staff's reply");
	check(await waitFor(() => page.evaluate(() => document.body.dataset.chat === "live"), 10000, "chat live").catch(() => false) &&
		h.sockets.length === 1, "restore: the restored thread subscribes over the chat WebSocket", JSON.stringify(h.sockets));
	await shot(page, "thread-restored-live", [360]);
	// A follow-up from the restored session joins the original case.
	const marker = "MARK-R-" + Date.now();
	await page.getByLabel(RU.follow_label).fill("Пишу с другого телефона. " + marker);
	await page.locator("#f-follow button[type=submit]").click();
	await waitFor(() => page.locator("#follow-status").innerText().then((t) => t.startsWith(RU.sent_receipt.split("{")[0])), 60000, "receipt");
	const sid = (await page.locator("#follow-status").innerText()).split(" ").pop();
	const joined = await waitFor(() => {
		const v = vaultMessages(st);
		const k = Object.keys(v).find((x) => x.startsWith(sid));
		return k ? v[k] : null;
	}, 30000, "restored follow-up").catch(() => null);
	check(joined !== null && joined.case === ctx.caseRu, "restore: a follow-up from a fresh profile joins the same case",
		JSON.stringify(joined));
	await storageEmpty(context, page, [ctx.phrase, marker], "after restoring");
	// Leaving wipes and reloads.
	await page.getByRole("button", { name: RU.leave }).click();
	await page.waitForSelector("body[data-ready] #s-home:not([hidden])");
	check(!(await page.evaluate(() => document.body.innerText)).includes(marker), "leave: the page reloads empty");
	await context.close();
}

async function interopC(browser, st, ctx) {
	const submit = exe("intake-submit");
	if (!check(submit !== null, "interop: build has intake-submit (the C reference client)")) return;
	const dir = mkdtempSync(path.join(tmpdir(), "intake-web-"));
	try {
		// 1. C follow-up with the page's passphrase: same mailbox, same case.
		const pf = path.join(dir, "pass");
		writeFileSync(pf, ctx.phrase + "\n", { mode: 0o600 });
		const out = execFileSync(submit, ["send", "--url", st.url, "--org-pub", st.org_pub, "--passphrase-file", pf,
			"--category", "surrender", "--lang", "ru", "--text", "C client follow-up " + ctx.marker], { encoding: "utf8" });
		const sid = (out.match(/submission_id=([0-9a-f]{64})/) || [])[1];
		const m = sid ? await inVault(st, sid) : null;
		check(m !== null && m.case === ctx.caseRu, "interop: C client with the page's passphrase joins the page's case", JSON.stringify(m));
		// 2. Passphrase made by the C client, restored in the page.
		const out2 = execFileSync(submit, ["send", "--url", st.url, "--org-pub", st.org_pub, "--category", "other",
			"--lang", "uk", "--text", "Питання від клієнта C"], { encoding: "utf8" });
		const cphrase = (out2.match(/passphrase=(.+)/) || [])[1];
		const csid = (out2.match(/submission_id=([0-9a-f]{64})/) || [])[1];
		const cm = csid ? await inVault(st, csid) : null;
		if (!check(cphrase && cm, "interop: C client submission with its own passphrase", out2)) return;
		const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
		const { page } = await openPage(context, st, 360);
		await page.getByRole("button", { name: RU.have_passphrase }).click();
		await page.getByLabel(RU.restore_label).fill(cphrase.trim());
		await page.getByRole("button", { name: RU.restore_go }).click();
		await page.waitForSelector("#s-thread:not([hidden])", { timeout: 30000 });
		await page.getByLabel(RU.follow_label).fill("Доповнення зі сторінки");
		await page.locator("#f-follow button[type=submit]").click();
		await waitFor(() => page.locator("#follow-status").innerText().then((t) => t.startsWith(RU.sent_receipt.split("{")[0])), 60000, "receipt");
		const psid = (await page.locator("#follow-status").innerText()).split(" ").pop();
		const pm = await waitFor(() => {
			const v = vaultMessages(st);
			const k = Object.keys(v).find((x) => x.startsWith(psid));
			return k ? v[k] : null;
		}, 30000, "page follow-up").catch(() => null);
		check(pm !== null && pm.case === cm.case, "interop: the page with the C client's passphrase joins the C client's case",
			JSON.stringify(pm));
		await context.close();
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
}

// Sends the form with route() altering one answer; expects a refusal.
async function refused(browser, st, name, routePath, alter, wantKey, expectPost) {
	const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
	await context.route(st.url + routePath, async (route) => {
		const resp = await route.fetch();
		const body = alter(Buffer.from(await resp.body()));
		await route.fulfill({ response: resp, body });
	});
	const { page, h } = await openPage(context, st, 360);
	await page.getByRole("button", { name: new RegExp(RU.cat_other) }).click();
	await page.getByRole("textbox", { name: new RegExp(RU.f_message) }).fill("проверка подмены " + name);
	await page.getByRole("button", { name: RU.send }).click();
	await page.waitForSelector("#form-alert:not([hidden])", { timeout: 60000 });
	const alertText = await visibleText(page, "#form-alert");
	check(alertText === RU[wantKey], "tamper (" + name + "): the page refuses with a clear message", alertText);
	const posts = h.requests.filter((r) => r.method === "POST");
	if (expectPost) check(posts.length === 1, "tamper (" + name + "): exactly one submission was posted");
	else check(posts.length === 0, "tamper (" + name + "): nothing was posted");
	check(await page.locator("#s-done").isHidden(), "tamper (" + name + "): no receipt or passphrase is shown");
	if (name === "bundle signature") await shot(page, "refused");
	await context.close();
}

async function tampering(browser, st) {
	const flip = (at) => (b) => {
		const i = at < 0 ? b.length + at : at;
		b[i] ^= 0x01;
		return b;
	};
	await refused(browser, st, "bundle signature", "/v1/keys", flip(-1), "err_bundle", false);
	// Byte 40 lies inside the signed body (intake key or origin).
	await refused(browser, st, "bundle body", "/v1/keys", flip(40), "err_bundle", false);
	// A validly signed bundle from another organisation key.
	const other = mkdtempSync(path.join(tmpdir(), "intake-web-other-"));
	try {
		execFileSync(exe("intake-keys"), ["dev-init", path.join(other, "k"), "--origin", "evil.example/log"], { stdio: "ignore" });
		const evil = readFileSync(path.join(other, "k", "bundle.pb"));
		await refused(browser, st, "unknown organisation key", "/v1/keys", () => evil, "err_bundle", false);
	} finally {
		rmSync(other, { recursive: true, force: true });
	}
	await refused(browser, st, "receipt signature", "/v1/submissions", flip(-1), "err_receipt", true);
}

async function cspEnforced(browser, st) {
	const context = await browser.newContext();
	const { page } = await openPage(context, st, 360);
	const r = await page.evaluate(async () => {
		const events = [];
		document.addEventListener("securitypolicyviolation", (e) => events.push(e.violatedDirective));
		const s = document.createElement("script");
		s.textContent = "window.__inlineRan = true";
		document.body.append(s);
		let evalRan = false;
		try { evalRan = (0, eval)("true"); } catch (e) { evalRan = false; }
		await new Promise((res) => setTimeout(res, 50));
		return { inline: window.__inlineRan === true, evalRan, events };
	});
	// page.evaluate itself runs outside the page's CSP; the script it adds does not.
	check(!r.inline && r.events.some((d) => d.startsWith("script-src")), "csp: an injected inline script is blocked", JSON.stringify(r));
	const ext = await page.evaluate(async () => {
		try { await fetch("http://127.0.0.2:9/x"); return "fetched"; } catch (e) { return "blocked"; }
	});
	check(ext === "blocked", "csp: a request to another origin is blocked");
	await context.close();
}

// A stack whose page names a chat URL nothing listens on: the socket
// cannot open, the page keeps retrying with backoff and gets the reply by
// polling (every 10 s).
async function chatFallback(browser) {
	let st = null;
	try {
		st = await startStack(["--chat", "closed"]);
		const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
		const { page, h } = await openPage(context, st, 360);
		await page.getByRole("button", { name: new RegExp(RU.cat_other) }).click();
		const marker = "MARK-F-" + Date.now();
		await page.getByRole("textbox", { name: new RegExp(RU.f_message) }).fill("Вопрос без чата. " + marker);
		await page.getByRole("button", { name: RU.send }).click();
		await page.waitForSelector("#s-done:not([hidden])", { timeout: 60000 });
		const phrase = (await visibleText(page, "#passphrase")).trim();
		await page.getByRole("button", { name: RU.open_thread }).click();
		await page.waitForSelector("#s-thread:not([hidden])");
		// Two attempts at least: the first failed and it retried.
		const tried = await waitFor(() => h.sockets.length >= 2, 10000, "a reconnect attempt").catch(() => false);
		check(tried && h.sockets.every((u) => u === st.chat_url) &&
			await page.evaluate(() => document.body.dataset.chat) === "polling",
		"fallback: with the chat port closed the page polls and retries the socket (" + h.sockets.length + " attempts)");
		const reply = "Ответ без чата. REPLY-" + marker;
		const t0 = Date.now();
		postReply(st, phrase, reply);
		const arrived = await waitFor(() => page.locator("#thread .msg-staff").allInnerTexts()
			.then((a) => a.some((x) => x.includes(reply))), 25000, "the polled reply").catch(() => false);
		check(arrived && h.requests.some((r) => r.url.includes("/v1/mailbox/")),
			"fallback: the staff reply still appears, by polling (" + (Date.now() - t0) + " ms)");
		check(h.errors.length === 0 && h.csp.length === 0, "fallback: no page error and no CSP violation", h.errors.concat(h.csp).join(" | "));
		await shot(page, "thread-polling", [360]);
		await context.close();
	} finally {
		await stopStack(st);
	}
}

// A stack whose gateway closes idle chat connections after 2.5 s: each
// time the page's socket is closed it polls at once and reconnects (with
// backoff) to a live subscription again; replies still arrive.
async function chatReconnect(browser) {
	let st = null;
	try {
		st = await startStack(["--chat", "idle"]);
		const context = await browser.newContext({ viewport: { width: 360, height: 740 } });
		const { page, h } = await openPage(context, st, 360);
		await page.getByRole("button", { name: new RegExp(RU.cat_other) }).click();
		const marker = "MARK-C-" + Date.now();
		await page.getByRole("textbox", { name: new RegExp(RU.f_message) }).fill("Проверка переподключения. " + marker);
		await page.getByRole("button", { name: RU.send }).click();
		await page.waitForSelector("#s-done:not([hidden])", { timeout: 60000 });
		const phrase = (await visibleText(page, "#passphrase")).trim();
		await page.getByRole("button", { name: RU.open_thread }).click();
		await page.waitForSelector("#s-thread:not([hidden])");
		await waitFor(() => page.evaluate(() => document.body.dataset.chat === "live"), 10000, "first subscription");
		const polled = () => h.requests.filter((r) => r.url.includes("/v1/mailbox/")).length;
		const polledAtLive = polled();
		// Closed by the gateway, then subscribed again on a new socket.
		const again = await waitFor(async () => h.sockets.length >= 2 &&
			await page.evaluate(() => document.body.dataset.chat === "live"), 15000, "a second subscription").catch(() => false);
		check(again && polled() > polledAtLive,
			"reconnect: a closed chat socket makes the page poll at once and subscribe again (" + h.sockets.length +
			" sockets, " + (polled() - polledAtLive) + " mailbox fetches meanwhile)");
		const reply = "Ответ после переподключения. REPLY-" + marker;
		postReply(st, phrase, reply);
		const arrived = await waitFor(() => page.locator("#thread .msg-staff").allInnerTexts()
			.then((a) => a.filter((x) => x.includes(reply)).length), 15000, "the reply").catch(() => 0);
		// Let more close/reconnect rounds pass: the backlog is resent on
		// each subscription, and the reply must still show once.
		const n0 = h.sockets.length;
		await waitFor(() => h.sockets.length >= n0 + 1, 15000, "another round").catch(() => false);
		await waitFor(() => page.evaluate(() => document.body.dataset.chat === "live"), 10000, "live again").catch(() => false);
		const count = (await page.locator("#thread .msg-staff").allInnerTexts()).filter((x) => x.includes(reply)).length;
		check(arrived === 1 && count === 1, "reconnect: the reply appears once though every subscription resends it (" +
			h.sockets.length + " sockets)", arrived + "/" + count);
		check(h.errors.length === 0 && h.csp.length === 0, "reconnect: no page error and no CSP violation", h.errors.concat(h.csp).join(" | "));
		await context.close();
	} finally {
		await stopStack(st);
	}
}

// -------------------------------------------------------------- main

async function main() {
	mkdirSync(SHOTS, { recursive: true });
	staticChecks();
	let st = null;
	let browser = null;
	try {
		st = await startStack(WORKERS ? ["--operator"] : []);
		console.log("# stack at " + st.url + " (" + st.dir + "), chat " + st.chat_url);
		webRootChecks(st);
		browser = await chromium.launch(LAUNCH);
		const ctx = {};
		const steps = [
			["surrender (ru, 360px)", () => surrenderRu(browser, st, ctx)],
			["relative (en, 1280px, keyboard)", () => relativeEn(browser, st, ctx)],
			["languages", () => languages(browser, st)],
			["restore", () => restore(browser, st, ctx)],
			["interop with the C client", () => interopC(browser, st, ctx)],
			["tampering", () => tampering(browser, st)],
			["csp", () => cspEnforced(browser, st)],
			["chat fallback", () => chatFallback(browser)],
			["chat reconnect", () => chatReconnect(browser)],
		];
		for (const [name, fn] of steps) {
			if ((name === "restore" || name.startsWith("interop")) && !ctx.phrase) {
				check(false, name + ": needs the surrender flow's passphrase");
				continue;
			}
			try {
				await fn();
			} catch (e) {
				check(false, name + ": " + (e && e.message ? e.message.split("\n")[0] : e));
			}
		}
	} catch (e) {
		check(false, "setup: " + (e && e.message ? e.message : e));
	} finally {
		if (browser) await browser.close();
		await stopStack(st);
	}
	console.log("# screenshots in " + SHOTS);
	return finish();
}

process.exit(await main());
