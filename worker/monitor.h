/* SPDX-License-Identifier: Apache-2.0 */
#ifndef ITK_WORKER_MONITOR_H
#define ITK_WORKER_MONITOR_H

/*
 * The worker's privilege separation, OpenSSH-shaped (docs/privsep.md).
 * The monitor holds the intake secret keys and the vault write handle;
 * the unprivileged child talks nng to the gateway and parses every byte
 * that arrives from the network.  They share a socketpair.  The child
 * asks (monitor_wrap.h); the monitor answers from a dispatch table with
 * per-request flags, and any request it does not expect now is fatal.
 *
 * Message on the socket: u32 length (of what follows, big-endian), u8
 * type, body.  Length at most WK_MON_MSG_MAX.
 *
 *   REQ_READY  (child -> monitor, once, first): empty.  The child is
 *              sandboxed and its link is dialling.
 *   ANS_READY  u32 number of intake keys.
 *   REQ_BATCH  (only after READY): u32 n (1..WK_MON_BATCH_MAX), then n
 *              times: submission_id[32] as the gateway claimed it,
 *              u32 attempt, u64 accepted_at, u32 intake_key_id,
 *              u32 length + sealed (at most ITK_SUBMISSION_MAX).
 *   ANS_BATCH  u32 itk_err; u64 messages, new_cases, follow_ups,
 *              duplicates, quarantined; u32 n; n x id[32], the
 *              SHA-256(sealed) the vault stored, in request order, to be
 *              acknowledged (n is 0 unless itk_err is ITK_OK).
 */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"
#include "err.h"
#include "keyring.h"
#include "triage.h"
#include "vault.h"
#include "wire.h"

#define WK_MON_BATCH_MAX 1024u
/* The largest itk_buf: a batch encodes in fewer bytes than the protobuf
 * GatewayResponse it came in (ITK_GATEWAY_RESPONSE_MAX, the same). */
#define WK_MON_MSG_MAX ITK_BUF_SIZE_MAX

typedef enum {
	WK_MON_REQ_READY = 1,
	WK_MON_ANS_READY = 2,
	WK_MON_REQ_BATCH = 3,
	WK_MON_ANS_BATCH = 4,
} wk_mon_type;

/*
 * Sends one message: type and body (NULL: empty).  Returns ITK_OK, or
 * ITK_E_IO when the peer is gone.
 */
itk_err wk_mon_send(int fd, uint8_t type, const itk_buf *body) ITK_WUR;

/*
 * Receives one message into body (reset first; its cap must allow
 * WK_MON_MSG_MAX or the message is refused).  Returns ITK_OK; ITK_E_SHORT
 * on a clean end of stream before a message; ITK_E_TOO_BIG for a length
 * above the cap or 0; ITK_E_IO on a read error or a stream cut mid-message.
 */
itk_err wk_mon_recv(int fd, uint8_t *type, itk_buf *body) ITK_WUR;

typedef struct wk_monitor wk_monitor;

/*
 * A monitor over keys, rules and v (borrowed: they must outlive it) for
 * the child with pid child (for logs).  wid is the worker's name in logs.
 * Returns NULL when out of memory.  Free with wk_monitor_free.
 */
wk_monitor *wk_monitor_new(const wk_keyring *keys, const triage_rules *rules,
			   vault *v, const char *wid, uint64_t batch);
void wk_monitor_free(wk_monitor *m);

/*
 * Answers the child on fd until it closes its end.  Returns ITK_OK when
 * the child closed the socket between messages; otherwise the fatal error:
 * ITK_E_PERM for a request that is unknown or not permitted now (the
 * caller kills the child), a parse error for a malformed request, ITK_E_IO
 * for a broken socket.  A vault failure is not fatal: it is answered.
 */
itk_err wk_monitor_serve(wk_monitor *m, int fd) ITK_WUR;

#endif
