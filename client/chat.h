/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_CHAT_H
#define ITK_CHAT_H

/*
 * The client side of the gateway's chat WebSocket (docs/chat.md): one
 * connection, ChatClientFrame out, ChatServerFrame in, one WebSocket
 * binary message each.  Sends may come from one thread while another
 * receives; sends are serialised inside.
 */

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "err.h"
#include "wire.h"

typedef struct itk_chat itk_chat;

/*
 * Connects to url (ws://host:port/path, or wss:// checked against the CA
 * certificates in ca_file).  Returns ITK_OK and *out (free with
 * itk_chat_free), ITK_E_CONFIG (bad URL, wss:// without ca_file) or
 * ITK_E_NET.
 */
itk_err itk_chat_open(const char *url, const char *ca_file,
		      itk_chat **out) ITK_WUR;
/* Closes and frees; NULL ok. */
void itk_chat_free(itk_chat *ch);

/* Frames: seq is echoed in the answer.  ITK_OK or ITK_E_NET. */
itk_err
itk_chat_subscribe(itk_chat *ch, uint32_t seq,
		   const uint8_t id[static ITK_MAILBOX_ID_LEN]) ITK_WUR;
itk_err itk_chat_submit(itk_chat *ch, uint32_t seq, const uint8_t *sub,
			size_t len) ITK_WUR;
itk_err itk_chat_ping(itk_chat *ch, uint32_t seq) ITK_WUR;
/* Any bytes as one binary message (tests of the gateway's refusals). */
itk_err itk_chat_send_raw(itk_chat *ch, const uint8_t *p, size_t len) ITK_WUR;

/*
 * Waits up to timeout_ms for the next frame.  ITK_OK and *out (free with
 * itk_wire_free); ITK_E_BUSY on timeout; ITK_E_NET when the connection is
 * gone; a decoder error for a frame that is not a valid ChatServerFrame.
 */
itk_err itk_chat_recv(itk_chat *ch, int timeout_ms,
		      itk_pb_chat_server **out) ITK_WUR;

#endif
