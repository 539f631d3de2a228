/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_FUZZ_WIRE_H
#define ITK_FUZZ_WIRE_H

/*
 * One fuzz target per proto/wire.h decoder, all the same shape:
 *
 *   1. decode(input) never crashes, and fails only with the errors wire.h
 *      documents (anything else, ITK_E_INTERNAL above all, is a finding);
 *   2. a decoded message satisfies the target's invariant: what every
 *      reader of that message relies on (lengths of keys and ids);
 *   3. it re-encodes (pack1), pack1 decodes again, and re-encoding that
 *      gives pack1 byte for byte: decoding loses nothing a reader could
 *      see and accepts its own output.
 *
 * A target file is three lines: include this, write the invariant, and
 * FUZZ_WIRE_TARGET(decoder, type, cap, invariant).
 *
 * One known exception to 3, found by these targets: libprotobuf-c 1.4.1
 * accepts field number 0 (invalid in protobuf) when the tag is encoded in
 * more than one byte (0x82 0x00 ...), keeps it as an unknown field, and
 * then refuses its own minimal re-encoding (0x02 ...).  Harmless while
 * nothing re-encodes a decoded message's unknown fields towards another
 * reader (the gateway spools only the sealed bytes); such messages must
 * fail to re-decode with ITK_E_FORMAT, anything else is still a finding.
 */

#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "fuzz.h"
#include "wire.h"

/* A decoder with its message type erased, for fuzz_wire_run. */
typedef itk_err (*fuzz_decode_fn)(const uint8_t *p, size_t n,
				  ProtobufCMessage **out);
/* Aborts (FUZZ_CHECK) if a decoded message breaks a documented promise. */
typedef void (*fuzz_invariant_fn)(const ProtobufCMessage *m);

/* True for the failures proto/wire.h documents for its decoders. */
static inline int
fuzz_wire_err_ok(itk_err r)
{
	return r == ITK_E_TOO_BIG || r == ITK_E_FORMAT || r == ITK_E_VERSION ||
	       r == ITK_E_MISSING || r == ITK_E_RANGE || r == ITK_E_NOMEM;
}

/* Serializes m into a new buffer (caller frees); NULL if over the cap. */
static inline itk_buf *
fuzz_wire_pack(const ProtobufCMessage *m, size_t cap)
{
	itk_buf *b = itk_buf_new(ITK_BUF_SIZE_MAX);
	itk_err r;

	FUZZ_CHECK(b != NULL);
	r = itk_wire_pack(m, b);
	if (r == ITK_E_TOO_BIG || (r == ITK_OK && itk_buf_len(b) > cap)) {
		/* Re-encoding can exceed the cap only for inputs near it. */
		itk_buf_free(b);
		return NULL;
	}
	FUZZ_CHECK(r == ITK_OK);
	return b;
}

/* True if m or a message inside it kept an unknown field numbered 0. */
static inline int
fuzz_wire_has_field0(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	for (unsigned i = 0; i < m->n_unknown_fields; i++) {
		if (m->unknown_fields[i].tag == 0) {
			return 1;
		}
	}
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m;
		if (f->type != PROTOBUF_C_TYPE_MESSAGE) {
			continue;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n;
			ProtobufCMessage *const *a;
			memcpy(&n, base + f->quantifier_offset, sizeof(n));
			memcpy(&a, base + f->offset, sizeof(a));
			for (size_t j = 0; j < n; j++) {
				if (fuzz_wire_has_field0(a[j])) {
					return 1;
				}
			}
		} else {
			const ProtobufCMessage *sub;
			memcpy(&sub, base + f->offset, sizeof(sub));
			if (sub != NULL && fuzz_wire_has_field0(sub)) {
				return 1;
			}
		}
	}
	return 0;
}

static inline int
fuzz_wire_run(const uint8_t *data, size_t size, size_t cap,
	      fuzz_decode_fn decode, fuzz_invariant_fn invariant)
{
	ProtobufCMessage *m1 = NULL, *m2 = NULL;
	itk_buf *pack1 = NULL, *pack2 = NULL;
	itk_err r;

	(void)fuzz_keys(); /* itk_intake_key_id hashes: sodium must be up */
	r = decode(data, size, &m1);
	if (r != ITK_OK) {
		FUZZ_CHECK(fuzz_wire_err_ok(r));
		FUZZ_CHECK(size <= cap || r == ITK_E_TOO_BIG);
		return 0;
	}
	FUZZ_CHECK(size <= cap);
	FUZZ_CHECK(m1 != NULL);
	invariant(m1);
	if ((pack1 = fuzz_wire_pack(m1, cap)) == NULL) {
		goto out;
	}
	r = decode(itk_buf_ptr(pack1), itk_buf_len(pack1), &m2);
	if (r != ITK_OK && fuzz_wire_has_field0(m1)) {
		FUZZ_CHECK(r == ITK_E_FORMAT); /* the known quirk above */
		goto out;
	}
	FUZZ_CHECK(r == ITK_OK);
	invariant(m2);
	pack2 = fuzz_wire_pack(m2, cap);
	FUZZ_CHECK(pack2 != NULL);
	FUZZ_CHECK(itk_buf_len(pack1) == itk_buf_len(pack2));
	FUZZ_CHECK(itk_buf_len(pack1) == 0 ||
		   memcmp(itk_buf_ptr(pack1), itk_buf_ptr(pack2),
			  itk_buf_len(pack1)) == 0);
out:
	itk_buf_free(pack2);
	itk_buf_free(pack1);
	itk_wire_free(m2);
	itk_wire_free(m1);
	return 0;
}

/*
 * Defines LLVMFuzzerTestOneInput for decoder fn of message type (cap:
 * its size cap) with invariant inv(const type *).  The small wrappers keep
 * the calls correctly typed: no cast between function pointer types.
 */
#define FUZZ_WIRE_TARGET(fn, type, cap, inv)                                  \
	static itk_err fuzz_decode(const uint8_t *p, size_t n,                \
				   ProtobufCMessage **out)                    \
	{                                                                     \
		type *m = NULL;                                               \
		itk_err r = fn(p, n, &m);                                     \
		FUZZ_CHECK(r == ITK_OK ? m != NULL : m == NULL);              \
		*out = r == ITK_OK ? &m->base : NULL;                         \
		return r;                                                     \
	}                                                                     \
	static void fuzz_invariant(const ProtobufCMessage *m)                 \
	{                                                                     \
		inv((const type *)m);                                         \
	}                                                                     \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)          \
	{                                                                     \
		return fuzz_wire_run(data, size, (cap), fuzz_decode,          \
				     fuzz_invariant);                         \
	}

#endif
