/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzzes the gateway front's request head parser (gateway/front.c,
 * gw_front_head_end and gw_front_head_check) the way the front feeds it:
 * the bytes arrive in pieces, a head is checked once its end is found,
 * and what follows it (a body, a pipelined head) is the next input.  The
 * first byte picks the limits, so small caps are reached too.
 */
#include <string.h>

#include "fuzz.h"
#include "gw_front.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t max_lines, off = 0;
	uint64_t max_body;

	if (size == 0) {
		return 0;
	}
	max_lines = 1 + (data[0] & 0x0f);
	max_body = (uint64_t)(data[0] >> 4) * 1000u;
	data++;
	size--;
	while (off < size) {
		gw_front_head h;
		size_t e = gw_front_head_end(data + off, size - off);
		unsigned st;

		/* The end of a head never lies before a shorter prefix's
		 * end: a prefix that ends sooner ends the same place. */
		if (e == 0) {
			FUZZ_CHECK(gw_front_head_end(data + off,
						     (size - off) / 2) == 0);
			break;
		}
		FUZZ_CHECK(e >= 2 && e <= size - off);
		FUZZ_CHECK(data[off + e - 1] == '\n');
		FUZZ_CHECK(gw_front_head_end(data + off, e) == e);
		FUZZ_CHECK(e < 2 || gw_front_head_end(data + off, e - 1) == 0);
		st = gw_front_head_check(data + off, e, max_lines, max_body,
					 &h);
		switch (st) {
		case 0:
			/* Checked: a length within the cap, a known route. */
			FUZZ_CHECK(h.length <= max_body);
			FUZZ_CHECK(h.has_length || h.length == 0);
			FUZZ_CHECK(h.route <= GW_ROUTE_CHALLENGE);
			FUZZ_CHECK(h.route == GW_ROUTE_NNG ||
				   h.route == GW_ROUTE_SUBMIT ||
				   h.length == 0);
			break;
		case 400:
		case 411:
		case 413:
		case 431:
			/* A refusal names its code and metrics reason. */
			FUZZ_CHECK(h.code != ITK_OK && h.why != GW_REJ_COUNT);
			return 0; /* the front closes the connection */
		default:
			FUZZ_CHECK(0);
			break;
		}
		/* The body, then the next pipelined head. */
		off += e;
		off += h.length < size - off ? (size_t)h.length : size - off;
	}
	return 0;
}
