/* SPDX-License-Identifier: Apache-2.0 */
/* Fuzzes itk_wire_chat_client_decode: a frame as the chat WebSocket
 * (gateway/chat.c) receives it from anyone. */
#include "fuzz_wire.h"

/* What gateway/chat.c relies on for a decoded frame. */
static void
invariant(const itk_pb_chat_client *m)
{
	FUZZ_CHECK(m->version == ITK_WIRE_VERSION);
	switch (m->kind_case) {
	case INTAKE__V1__CHAT_CLIENT_FRAME__KIND_SUBMIT:
		FUZZ_CHECK(m->submit.len > 0 && m->submit.data != NULL);
		break;
	case INTAKE__V1__CHAT_CLIENT_FRAME__KIND_SUBSCRIBE:
		FUZZ_CHECK(m->subscribe.len == ITK_MAILBOX_ID_LEN);
		break;
	case INTAKE__V1__CHAT_CLIENT_FRAME__KIND_UNSUBSCRIBE:
		FUZZ_CHECK(m->unsubscribe.len == ITK_MAILBOX_ID_LEN);
		break;
	case INTAKE__V1__CHAT_CLIENT_FRAME__KIND_PING:
		break;
	case INTAKE__V1__CHAT_CLIENT_FRAME__KIND__NOT_SET:
	default:
		FUZZ_CHECK(0);
	}
}

FUZZ_WIRE_TARGET(itk_wire_chat_client_decode, itk_pb_chat_client,
		 ITK_CHAT_CLIENT_MAX, invariant)
