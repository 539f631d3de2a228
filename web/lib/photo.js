// SPDX-License-Identifier: Apache-2.0
//
// The optional photo: decoded by the browser, drawn scaled down on a
// canvas and re-encoded as JPEG.  Only pixels survive a canvas, so EXIF
// (GPS position, camera serial, time), XMP, IPTC and ICC data of the
// original are gone; the encoder's own APPn segments are stripped and the
// result is checked once more.  Sizes are
// chosen so a message with a photo stays well inside the largest padding
// bucket (1 MiB) and, on slow networks, as small as a readable photo can be.

export const MAX_SIDE = 1280; // pixels, longest side, first try
export const MIN_SIDE = 480;
export const BUDGET = 480 * 1024; // bytes of JPEG at most
const QUALITIES = [0.82, 0.7, 0.55];

export class PhotoError extends Error {
	constructor(code) {
		super(code);
		this.name = "PhotoError";
		this.code = code; // "photo" (not an image) or "photo_big"
	}
}

function toBlob(canvas, quality) {
	return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
}

// True if the JPEG bytes carry any APP1..APP15 segment (EXIF, XMP, ICC,
// IPTC, ...) before the image data.
export function hasMetadata(u8) {
	if (u8.length < 4 || u8[0] !== 0xff || u8[1] !== 0xd8) return true;
	let off = 2;
	while (off + 4 <= u8.length) {
		if (u8[off] !== 0xff) return true; // not a marker: refuse, don't guess
		const m = u8[off + 1];
		if (m === 0xda) return false; // start of scan: headers are over
		const len = (u8[off + 2] << 8) | u8[off + 3];
		if (m >= 0xe1 && m <= 0xef) return true;
		off += 2 + len;
	}
	return true;
}

// Returns the JPEG without APP1..APP15 segments (EXIF, XMP, ICC, IPTC,
// vendor data): Chromium's encoder adds its sRGB ICC profile, which says
// which browser made the file; viewers assume sRGB without it anyway.
// Throws if the header is not a sequence of well-formed segments.
export function stripSegments(u8) {
	if (u8.length < 4 || u8[0] !== 0xff || u8[1] !== 0xd8) throw new PhotoError("photo");
	const keep = [u8.subarray(0, 2)];
	let off = 2;
	for (;;) {
		if (off + 4 > u8.length || u8[off] !== 0xff) throw new PhotoError("photo");
		const m = u8[off + 1];
		if (m === 0xda) {
			keep.push(u8.subarray(off)); // scan data and the rest, as is
			break;
		}
		const len = (u8[off + 2] << 8) | u8[off + 3];
		if (len < 2 || off + 2 + len > u8.length) throw new PhotoError("photo");
		if (!(m >= 0xe1 && m <= 0xef)) keep.push(u8.subarray(off, off + 2 + len));
		off += 2 + len;
	}
	let n = 0;
	for (const k of keep) n += k.length;
	const out = new Uint8Array(n);
	n = 0;
	for (const k of keep) {
		out.set(k, n);
		n += k.length;
	}
	return out;
}

// Turns a File into {bytes, width, height} of a clean JPEG, drawing the
// final version on canvas (shown to the user as the preview).
export async function processPhoto(file, canvas) {
	let bmp;
	try {
		// createImageBitmap applies the EXIF orientation, so the picture
		// is upright even though the orientation tag itself is dropped.
		bmp = await createImageBitmap(file);
	} catch (e) {
		throw new PhotoError("photo");
	}
	try {
		for (let side = MAX_SIDE; side >= MIN_SIDE; side = Math.floor(side * 0.75)) {
			const scale = Math.min(1, side / Math.max(bmp.width, bmp.height));
			const w = Math.max(1, Math.round(bmp.width * scale));
			const h = Math.max(1, Math.round(bmp.height * scale));
			canvas.width = w;
			canvas.height = h;
			const ctx = canvas.getContext("2d");
			ctx.fillStyle = "#fff"; // JPEG has no alpha
			ctx.fillRect(0, 0, w, h);
			ctx.drawImage(bmp, 0, 0, w, h);
			for (const q of QUALITIES) {
				const blob = await toBlob(canvas, q);
				if (blob === null) throw new PhotoError("photo");
				if (blob.size <= BUDGET) {
					const bytes = stripSegments(new Uint8Array(await blob.arrayBuffer()));
					if (hasMetadata(bytes)) throw new PhotoError("photo");
					return { bytes, width: w, height: h };
				}
			}
		}
	} finally {
		bmp.close();
	}
	throw new PhotoError("photo_big");
}
