/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The privileged half of the worker (docs/privsep.md).  It holds the
 * intake secret keys and the vault; it reads only what the child sends on
 * the monitor socket, through common/buf.h readers, and refuses any
 * request that is not permitted at that point (OpenSSH monitor.c).
 */
#include "monitor.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto.h"
#include "log.h"
#include "process.h"

#define MON_ONCE   0x1u /* disabled after its first use */
#define MON_PERMIT 0x2u /* allowed now */

struct wk_monitor;
typedef itk_err (*mon_answer_fn)(struct wk_monitor *m, itk_reader *req,
				 itk_buf *ans, uint8_t *ans_type);

struct mon_dispatch {
	uint8_t type;
	unsigned flags;
	mon_answer_fn fn;
};

static itk_err mm_answer_ready(struct wk_monitor *m, itk_reader *req,
			       itk_buf *ans, uint8_t *ans_type);
static itk_err mm_answer_batch(struct wk_monitor *m, itk_reader *req,
			       itk_buf *ans, uint8_t *ans_type);

/* The initial state: READY first and once, then BATCH any number of
 * times.  Each monitor copies it and changes its copy. */
static const struct mon_dispatch mon_dispatch_init[] = {
    {WK_MON_REQ_READY, MON_ONCE | MON_PERMIT, mm_answer_ready},
    {WK_MON_REQ_BATCH, 0, mm_answer_batch},
};
#define NDISPATCH (sizeof(mon_dispatch_init) / sizeof(mon_dispatch_init[0]))

struct wk_monitor {
	const wk_keyring *keys;
	const triage_rules *rules;
	vault *v;
	char wid[64];
	uint64_t batch;
	struct mon_dispatch dispatch[NDISPATCH];
};

/* ------------------------------------------------------------ framing */

static itk_err
write_full(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR) {
			continue;
		}
		if (w <= 0) {
			return ITK_E_IO;
		}
		p += w;
		n -= (size_t)w;
	}
	return ITK_OK;
}

/* Reads exactly n bytes; *got says how many arrived before an end. */
static itk_err
read_full(int fd, uint8_t *p, size_t n, size_t *got)
{
	*got = 0;
	while (*got < n) {
		ssize_t rd = read(fd, p + *got, n - *got);
		if (rd < 0 && errno == EINTR) {
			continue;
		}
		if (rd <= 0) {
			return ITK_E_IO;
		}
		*got += (size_t)rd;
	}
	return ITK_OK;
}

itk_err
wk_mon_send(int fd, uint8_t type, const itk_buf *body)
{
	size_t blen = body != NULL ? itk_buf_len(body) : 0;
	uint8_t hdr[5];
	itk_err r;

	if (blen > WK_MON_MSG_MAX - 1) {
		return ITK_E_TOO_BIG;
	}
	itk_store_u32(hdr, (uint32_t)(blen + 1));
	hdr[4] = type;
	if ((r = write_full(fd, hdr, sizeof(hdr))) != ITK_OK) {
		return r;
	}
	return blen == 0 ? ITK_OK : write_full(fd, itk_buf_ptr(body), blen);
}

itk_err
wk_mon_recv(int fd, uint8_t *type, itk_buf *body)
{
	uint8_t hdr[5], *p = NULL;
	size_t got = 0;
	uint32_t len;
	itk_err r;

	itk_buf_reset(body);
	if ((r = read_full(fd, hdr, sizeof(hdr), &got)) != ITK_OK) {
		/* Nothing at all: the peer closed between messages. */
		return got == 0 ? ITK_E_SHORT : ITK_E_IO;
	}
	len = itk_load_u32(hdr);
	if (len == 0 || len > WK_MON_MSG_MAX) {
		return ITK_E_TOO_BIG;
	}
	*type = hdr[4];
	if (len == 1) {
		return ITK_OK;
	}
	if ((r = itk_buf_reserve(body, len - 1, &p)) != ITK_OK) {
		return r;
	}
	return read_full(fd, p, len - 1, &got);
}

/* ------------------------------------------------------------ answers */

static itk_err
mm_answer_ready(struct wk_monitor *m, itk_reader *req, itk_buf *ans,
		uint8_t *ans_type)
{
	itk_err r;

	if ((r = itk_reader_end(req)) != ITK_OK) {
		return r;
	}
	/* Only now may the child hand in batches. */
	for (size_t i = 0; i < NDISPATCH; i++) {
		if (m->dispatch[i].type == WK_MON_REQ_BATCH) {
			m->dispatch[i].flags |= MON_PERMIT;
		}
	}
	itk_log_info("worker.started", "id=%s intake_keys=%zu batch=%llu",
		     m->wid, wk_keyring_count(m->keys),
		     (unsigned long long)m->batch);
	*ans_type = WK_MON_ANS_READY;
	return itk_buf_put_u32(ans, (uint32_t)wk_keyring_count(m->keys));
}

/* One delivery as the child sent it: a schema, field by field. */
static itk_err
get_delivery(itk_reader *req, Intake__V1__Delivery *d, itk_pb_submission *s,
	     uint8_t claimed[ITK_HASH_LEN])
{
	const uint8_t *sealed = NULL;
	size_t slen = 0;
	itk_err r;

	if ((r = itk_get_bytes(req, claimed, ITK_HASH_LEN)) != ITK_OK ||
	    (r = itk_get_u32(req, &d->attempt)) != ITK_OK ||
	    (r = itk_get_u64(req, &d->accepted_at)) != ITK_OK ||
	    (r = itk_get_u32(req, &s->intake_key_id)) != ITK_OK ||
	    (r = itk_get_string32(req, ITK_SUBMISSION_MAX, &sealed, &slen)) !=
		ITK_OK) {
		return r;
	}
	s->sealed.data = (uint8_t *)sealed; /* a view into the request */
	s->sealed.len = slen;
	d->submission_id.data = claimed;
	d->submission_id.len = ITK_HASH_LEN;
	d->submission = s;
	return ITK_OK;
}

static itk_err
mm_answer_batch(struct wk_monitor *m, itk_reader *req, itk_buf *ans,
		uint8_t *ans_type)
{
	Intake__V1__Delivery *ds = NULL, **dp = NULL;
	itk_pb_submission *ss = NULL;
	uint8_t(*claimed)[ITK_HASH_LEN] = NULL;
	wk_batch_stats st;
	uint32_t n = 0;
	itk_err r, cr;

	if ((r = itk_get_u32(req, &n)) != ITK_OK) {
		goto out;
	}
	if (n == 0 || n > WK_MON_BATCH_MAX) {
		r = ITK_E_RANGE;
		goto out;
	}
	r = ITK_E_NOMEM;
	if ((ds = calloc(n, sizeof(*ds))) == NULL ||
	    (dp = calloc(n, sizeof(*dp))) == NULL ||
	    (ss = calloc(n, sizeof(*ss))) == NULL ||
	    (claimed = calloc(n, ITK_HASH_LEN)) == NULL) {
		goto out;
	}
	for (uint32_t i = 0; i < n; i++) {
		Intake__V1__Delivery dinit = INTAKE__V1__DELIVERY__INIT;
		itk_pb_submission sinit = INTAKE__V1__SUBMISSION__INIT;

		ds[i] = dinit;
		ss[i] = sinit;
		if ((r = get_delivery(req, &ds[i], &ss[i], claimed[i])) !=
		    ITK_OK) {
			goto out;
		}
		dp[i] = &ds[i];
	}
	if ((r = itk_reader_end(req)) != ITK_OK) {
		goto out;
	}
	/* The monitor's own logic, unchanged: process.c. */
	cr = wk_process_batch(m->keys, m->rules, m->v, dp, n, &st);
	*ans_type = WK_MON_ANS_BATCH;
	if ((r = itk_buf_put_u32(ans, (uint32_t)cr)) != ITK_OK) {
		goto out;
	}
	if (cr != ITK_OK) {
		memset(&st, 0, sizeof(st));
	}
	if ((r = itk_buf_put_u64(ans, st.messages)) != ITK_OK ||
	    (r = itk_buf_put_u64(ans, st.new_cases)) != ITK_OK ||
	    (r = itk_buf_put_u64(ans, st.follow_ups)) != ITK_OK ||
	    (r = itk_buf_put_u64(ans, st.duplicates)) != ITK_OK ||
	    (r = itk_buf_put_u64(ans, st.quarantined)) != ITK_OK ||
	    (r = itk_buf_put_u32(ans, cr == ITK_OK ? n : 0)) != ITK_OK) {
		goto out;
	}
	for (uint32_t i = 0; cr == ITK_OK && i < n; i++) {
		uint8_t id[ITK_HASH_LEN];

		/* The id the vault stored: ours, never the claimed one. */
		itk_sha256(id, ss[i].sealed.data, ss[i].sealed.len);
		if ((r = itk_buf_put(ans, id, sizeof(id))) != ITK_OK) {
			goto out;
		}
	}
	r = ITK_OK;
out:
	free(claimed);
	free(ss);
	free(dp);
	free(ds);
	return r;
}

/* ------------------------------------------------------------ serve */

wk_monitor *
wk_monitor_new(const wk_keyring *keys, const triage_rules *rules, vault *v,
	       const char *wid, uint64_t batch)
{
	wk_monitor *m = calloc(1, sizeof(*m));

	if (m == NULL) {
		return NULL;
	}
	m->keys = keys;
	m->rules = rules;
	m->v = v;
	m->batch = batch;
	memcpy(m->dispatch, mon_dispatch_init, sizeof(m->dispatch));
	/* snprintf is not on the banned list; the name is for logs only. */
	(void)snprintf(m->wid, sizeof(m->wid), "%s", wid);
	return m;
}

void
wk_monitor_free(wk_monitor *m)
{
	free(m);
}

static struct mon_dispatch *
lookup(wk_monitor *m, uint8_t type)
{
	for (size_t i = 0; i < NDISPATCH; i++) {
		if (m->dispatch[i].type == type) {
			return &m->dispatch[i];
		}
	}
	return NULL;
}

itk_err
wk_monitor_serve(wk_monitor *m, int fd)
{
	itk_buf *req = NULL, *ans = NULL;
	itk_err r = ITK_E_NOMEM;

	if ((req = itk_buf_new(WK_MON_MSG_MAX - 1)) == NULL ||
	    (ans = itk_buf_new(64u + WK_MON_BATCH_MAX * ITK_HASH_LEN)) ==
		NULL) {
		goto out;
	}
	for (;;) {
		struct mon_dispatch *ent;
		itk_reader rd;
		uint8_t type = 0, ans_type = 0;

		if ((r = wk_mon_recv(fd, &type, req)) != ITK_OK) {
			if (r == ITK_E_SHORT) {
				r = ITK_OK; /* the child closed: done */
			} else {
				itk_log_error("monitor.recv", "err=%s",
					      itk_errname(r));
			}
			goto out;
		}
		ent = lookup(m, type);
		if (ent == NULL || (ent->flags & MON_PERMIT) == 0) {
			/* OpenSSH: fatal_f("unpermitted request %d"). */
			itk_log_error("monitor.unpermitted", "type=%u",
				      (unsigned)type);
			r = ITK_E_PERM;
			goto out;
		}
		if ((ent->flags & MON_ONCE) != 0) {
			ent->flags &= ~MON_PERMIT;
		}
		itk_reader_init(&rd, itk_buf_ptr(req), itk_buf_len(req));
		itk_buf_reset(ans);
		if ((r = ent->fn(m, &rd, ans, &ans_type)) != ITK_OK) {
			itk_log_error("monitor.bad_request", "type=%u err=%s",
				      (unsigned)type, itk_errname(r));
			goto out;
		}
		if ((r = wk_mon_send(fd, ans_type, ans)) != ITK_OK) {
			goto out;
		}
	}
out:
	itk_buf_free(req); /* wipes */
	itk_buf_free(ans);
	return r;
}
