/* SPDX-License-Identifier: Apache-2.0 */
/*
 * post_reply: plays the worker tier's reply path for the stack tests
 * until the operator service exists: derives the submitter's identity from
 * the passphrase (as the vault's contact data would give it), seals a
 * reply with the worker's own code and posts it over the real link.
 *
 *   post_reply LINK_URL PASSPHRASE_FILE TEXT
 */
#include <stdio.h>
#include <string.h>

#include "file.h"
#include "link.h"
#include "passphrase.h"
#include "reply.h"

int
main(int argc, char **argv)
{
	char pass[ITK_PASSPHRASE_MAX];
	itk_identity id;
	itk_pb_worker_request req = INTAKE__V1__WORKER_REQUEST__INIT;
	itk_pb_gateway_response *resp = NULL;
	itk_pb_reply pb, *pbs[1] = {&pb};
	wk_reply rp;
	wk_link *l = NULL;
	itk_buf *b = NULL;
	size_t n;
	int rc = 1;

	if (argc != 4 || itk_crypto_init() != ITK_OK) {
		fprintf(stderr, "usage: post_reply LINK PASSFILE TEXT\n");
		return 2;
	}
	if (itk_file_read(argv[2], sizeof(pass) - 1, &b) != ITK_OK) {
		return 2;
	}
	n = itk_buf_len(b);
	memcpy(pass, itk_buf_ptr(b), n);
	while (n > 0 && pass[n - 1] == '\n') {
		n--;
	}
	pass[n] = '\0';
	itk_buf_free(b);
	if (itk_passphrase_derive(pass, &id) != ITK_OK ||
	    wk_reply_seal(id.reply_pk, id.mailbox_id, argv[3], NULL, 0, &rp) !=
		ITK_OK ||
	    wk_link_new(argv[1], &l) != ITK_OK) {
		fprintf(stderr, "post_reply: setup failed\n");
		return 1;
	}
	wk_reply_to_pb(&rp, &pb);
	req.version = ITK_WIRE_VERSION;
	req.worker_id = "post_reply";
	req.n_replies = 1;
	req.replies = pbs;
	if (wk_link_exchange(l, &req, 10000, true, &resp) == ITK_OK &&
	    resp->replies_stored == 1) {
		rc = 0;
	} else {
		fprintf(stderr, "post_reply: not stored\n");
	}
	itk_wire_free(resp);
	wk_link_free(l);
	wk_reply_fini(&rp);
	itk_identity_wipe(&id);
	return rc;
}
