/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes itk_wire_chat_server_decode: a frame as a chat client
 * (client/chat.c) receives it from a gateway, or from whoever is there. */
#include "fuzz_wire.h"

/* What client/chat.c relies on for a decoded frame. */
static void
invariant(const itk_pb_chat_server *m)
{
	FUZZ_CHECK(m->version == ITK_WIRE_VERSION);
	switch (m->kind_case) {
	case INTAKE__V1__CHAT_SERVER_FRAME__KIND_RECEIPT:
		FUZZ_CHECK(m->receipt.len <= ITK_RECEIPT_MAX);
		break;
	case INTAKE__V1__CHAT_SERVER_FRAME__KIND_ERROR:
		FUZZ_CHECK(m->error.len <= ITK_ERROR_MAX);
		break;
	case INTAKE__V1__CHAT_SERVER_FRAME__KIND_REPLY:
		FUZZ_CHECK(m->reply.len > 0 && m->reply.data != NULL);
		break;
	case INTAKE__V1__CHAT_SERVER_FRAME__KIND_SUBSCRIBED:
		FUZZ_CHECK(m->subscribed.len == ITK_MAILBOX_ID_LEN);
		break;
	case INTAKE__V1__CHAT_SERVER_FRAME__KIND_PONG:
		break;
	case INTAKE__V1__CHAT_SERVER_FRAME__KIND__NOT_SET:
	default:
		FUZZ_CHECK(0);
	}
}

FUZZ_WIRE_TARGET(itk_wire_chat_server_decode, itk_pb_chat_server,
		 ITK_CHAT_SERVER_MAX, invariant)
