/* SPDX-License-Identifier: Apache-2.0 */
#include "monitor_wrap.h"

#include <string.h>

#include "buf.h"
#include "monitor.h"

/* Sends req as type and receives the answer, which must be want. */
static itk_err
mm_request(int fd, uint8_t type, const itk_buf *req, uint8_t want,
	   itk_buf *ans)
{
	uint8_t got = 0;
	itk_err r;

	if ((r = wk_mon_send(fd, type, req)) != ITK_OK) {
		return r;
	}
	if ((r = wk_mon_recv(fd, &got, ans)) != ITK_OK) {
		return r == ITK_E_SHORT ? ITK_E_IO : r;
	}
	return got == want ? ITK_OK : ITK_E_FORMAT;
}

itk_err
wk_mm_ready(int fd, size_t *n_keys)
{
	itk_buf *ans = NULL;
	itk_reader rd;
	uint32_t n = 0;
	itk_err r = ITK_E_NOMEM;

	if ((ans = itk_buf_new(64)) == NULL) {
		goto out;
	}
	if ((r = mm_request(fd, WK_MON_REQ_READY, NULL, WK_MON_ANS_READY,
			    ans)) != ITK_OK) {
		goto out;
	}
	itk_reader_init(&rd, itk_buf_ptr(ans), itk_buf_len(ans));
	if ((r = itk_get_u32(&rd, &n)) != ITK_OK ||
	    (r = itk_reader_end(&rd)) != ITK_OK) {
		goto out;
	}
	*n_keys = n;
	r = ITK_OK;
out:
	itk_buf_free(ans);
	return r;
}

static itk_err
put_delivery(itk_buf *b, const Intake__V1__Delivery *d)
{
	const itk_pb_submission *s = d->submission;
	uint8_t claimed[ITK_HASH_LEN] = {0};
	itk_err r;

	/* The wire decoder guarantees a submission; the id may be odd. */
	if (s == NULL || s->sealed.len > ITK_SUBMISSION_MAX) {
		return ITK_E_FORMAT;
	}
	if (d->submission_id.len == ITK_HASH_LEN) {
		memcpy(claimed, d->submission_id.data, ITK_HASH_LEN);
	}
	if ((r = itk_buf_put(b, claimed, sizeof(claimed))) != ITK_OK ||
	    (r = itk_buf_put_u32(b, d->attempt)) != ITK_OK ||
	    (r = itk_buf_put_u64(b, d->accepted_at)) != ITK_OK ||
	    (r = itk_buf_put_u32(b, s->intake_key_id)) != ITK_OK ||
	    (r = itk_buf_put_u32(b, (uint32_t)s->sealed.len)) != ITK_OK ||
	    (r = itk_buf_put(b, s->sealed.data, s->sealed.len)) != ITK_OK) {
		return r;
	}
	return ITK_OK;
}

itk_err
wk_mm_process_batch(int fd, Intake__V1__Delivery *const *d, size_t n,
		    wk_batch_stats *st, uint8_t (*ids)[ITK_HASH_LEN])
{
	itk_buf *req = NULL, *ans = NULL;
	itk_reader rd;
	uint32_t verdict = 0, m = 0;
	itk_err r = ITK_E_NOMEM;

	memset(st, 0, sizeof(*st));
	if (n == 0 || n > WK_MON_BATCH_MAX) {
		return ITK_E_RANGE;
	}
	if ((req = itk_buf_new(WK_MON_MSG_MAX - 1)) == NULL ||
	    (ans = itk_buf_new(64u + WK_MON_BATCH_MAX * ITK_HASH_LEN)) ==
		NULL) {
		goto out;
	}
	if ((r = itk_buf_put_u32(req, (uint32_t)n)) != ITK_OK) {
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if ((r = put_delivery(req, d[i])) != ITK_OK) {
			goto out;
		}
	}
	if ((r = mm_request(fd, WK_MON_REQ_BATCH, req, WK_MON_ANS_BATCH,
			    ans)) != ITK_OK) {
		goto out;
	}
	itk_reader_init(&rd, itk_buf_ptr(ans), itk_buf_len(ans));
	if ((r = itk_get_u32(&rd, &verdict)) != ITK_OK ||
	    (r = itk_get_u64(&rd, &st->messages)) != ITK_OK ||
	    (r = itk_get_u64(&rd, &st->new_cases)) != ITK_OK ||
	    (r = itk_get_u64(&rd, &st->follow_ups)) != ITK_OK ||
	    (r = itk_get_u64(&rd, &st->duplicates)) != ITK_OK ||
	    (r = itk_get_u64(&rd, &st->quarantined)) != ITK_OK ||
	    (r = itk_get_u32(&rd, &m)) != ITK_OK) {
		goto out;
	}
	if (verdict != ITK_OK) {
		/* A refusal carries no ids. */
		r = m == 0 ? (itk_err)verdict : ITK_E_FORMAT;
		goto out;
	}
	/* Exactly one id per delivery, nothing after. */
	if (m != n) {
		r = ITK_E_FORMAT;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if ((r = itk_get_bytes(&rd, ids[i], ITK_HASH_LEN)) != ITK_OK) {
			goto out;
		}
	}
	r = itk_reader_end(&rd);
out:
	itk_buf_free(req);
	itk_buf_free(ans);
	return r;
}
