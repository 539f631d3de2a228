/* SPDX-License-Identifier: Apache-2.0 */
#ifndef GW_CHAT_H
#define GW_CHAT_H

/*
 * gateway/chat.c: the chat endpoint (docs/chat.md).  A WebSocket listener
 * (nng's own, ws:// or wss://) whose binary messages are ChatClientFrame
 * and ChatServerFrame (proto/intake.proto): submit (the same path as POST
 * /v1/submissions, gw_submit_handle: same checks, same group commit),
 * subscribe to a mailbox (every reply already stored, then each new one
 * pushed as the relay stores it: gw_spool_set_reply_hook), ping.
 *
 * Per connection: frames per second (a token bucket; beyond it an Error
 * "busy" and the frame is dropped), the frame size (larger: the WebSocket
 * is closed with 1009), subscriptions, submissions in flight, bytes queued
 * towards the client (beyond: closed), and an idle timeout (no frame from
 * the client for idle_ms: closed).  Connections are capped; each refusal
 * is counted (gw_chat_metrics_render).
 */

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "gw.h"
#include "buf.h"

typedef struct {
	const char *listen;   /* ws://host:port/path or wss://... */
	const char *tls_cert; /* PEM files, wss:// only */
	const char *tls_key;
	gw_submit *submit;
	gw_spool *spool;
	size_t max_conns;      /* open WebSockets; more are closed at once */
	size_t max_subs;       /* mailboxes per connection */
	size_t max_inflight;   /* submissions per connection not answered */
	uint32_t frames_per_s; /* sustained rate; burst is twice it */
	uint32_t idle_ms;      /* no frame from the client: closed */
	size_t max_frame;      /* bytes of one client frame */
	size_t max_queue;      /* bytes queued towards one client */
} gw_chat_opts;

typedef struct gw_chat gw_chat;

/*
 * Listens on o->listen and serves chat connections; hooks the spool's
 * reply notifications.  opts' pointers must outlive the chat.  Returns
 * ITK_OK and *out, ITK_E_CONFIG (bad URL, wss:// without cert), ITK_E_NET
 * (cannot listen) or ITK_E_NOMEM.
 */
itk_err gw_chat_start(const gw_chat_opts *o, gw_chat **out) ITK_WUR;
/*
 * Stops accepting, unhooks the spool and closes every connection.  Answers
 * of submissions still in the committer are dropped when they come.
 * NULL ok.
 */
void gw_chat_stop(gw_chat *c);
/* Waits until every connection is gone (after gw_submit_free has answered
 * what it held), then frees; NULL ok. */
void gw_chat_free(gw_chat *c);

/* Appends the chat's counters (Prometheus text) to out. */
itk_err gw_chat_metrics_render(itk_buf *out) ITK_WUR;

#endif
