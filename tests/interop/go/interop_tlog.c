/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Interoperability of the transparency log with Go's sumdb/note and
 * sumdb/tlog (tests/interop/go/main.go), both ways.
 *
 * Usage: interop_tlog <tlog-interop-go binary> [size...]
 *
 * For each tree size (default 1 255 256 257 1000 65537) this builds a log
 * in a fresh LMDB environment the way the vault does, signs a checkpoint,
 * exports tiles, entry bundles and the checkpoint, and writes our verifier
 * key and a sample of our inclusion and consistency proofs.  The Go program
 * verifies all of it with Go's code and writes back its own proofs and a
 * checkpoint signed by a Go key; this program then verifies those with our
 * verifiers and requires Go's proofs to equal ours byte for byte.
 * Exit 0 only if every check on both sides passed.
 */
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "checkpoint.h"
#include "file.h"
#include "note.h"
#include "tiles.h"
#include "tlog.h"
#include "tlog_test_env.h"

#define ORIGIN     "intake.example/interop"
#define SAMPLE_MAX 256
#define H          TLOG_HASH_LEN

#define CHECK(cond, ...)                                                      \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "interop_tlog: " __VA_ARGS__);        \
			fprintf(stderr, " (%s:%d)\n", __FILE__, __LINE__);    \
			exit(1);                                              \
		}                                                             \
	} while (0)

/* Entry i: lengths 0 (leaf 0), then 1..299 bytes, a mix that exercises
 * the uint16 length prefix of entry bundles. */
static size_t
entry(uint64_t i, uint8_t *buf)
{
	size_t len = (size_t)((i * 7919u) % 300u);

	for (size_t k = 0; k < len; k++) {
		buf[k] = (uint8_t)(i ^ (k * 131u) ^ (i >> 8));
	}
	return len;
}

/* Adds x to a sorted set of at most SAMPLE_MAX values below lim. */
static void
sample_add(uint64_t *set, size_t *n, uint64_t x, uint64_t lim)
{
	if (x >= lim || *n == SAMPLE_MAX) {
		return;
	}
	for (size_t i = 0; i < *n; i++) {
		if (set[i] == x) {
			return;
		}
	}
	set[(*n)++] = x;
}

static itk_err
put_b64(itk_buf *b, const uint8_t h[H])
{
	char s[sodium_base64_ENCODED_LEN(H, sodium_base64_VARIANT_ORIGINAL)];

	sodium_bin2base64(s, sizeof(s), h, H, sodium_base64_VARIANT_ORIGINAL);
	return itk_buf_printf(b, " %s", s);
}

static itk_err
put_proof(itk_buf *b, const tlog_proof *p)
{
	itk_err r = ITK_OK;

	for (size_t i = 0; i < p->n && r == ITK_OK; i++) {
		r = put_b64(b, p->h[i]);
	}
	return r;
}

static void
write_file(const char *dir, const char *name, const void *p, size_t len)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	CHECK(itk_file_write_atomic(path, p, len, 0644, 0) == ITK_OK,
	      "write %s", path);
}

static itk_buf *
read_file(const char *dir, const char *name)
{
	char path[512];
	itk_buf *b = NULL;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	CHECK(itk_file_read(path, 1u << 24, &b) == ITK_OK, "read %s", path);
	return b;
}

/* Runs the Go program on dir; exits unless it succeeds. */
static void
run_go(const char *go, const char *dir)
{
	int status = 0;
	pid_t pid = fork();

	CHECK(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		execl(go, go, dir, (char *)NULL);
		_exit(127);
	}
	CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "the Go verifier failed (status %d)", status);
}

/* Parses " b64 b64 ..." (the rest of a line) into p. */
static void
parse_hashes(const char *s, const char *end, tlog_proof *p)
{
	p->n = 0;
	while (s < end) {
		const char *tok, *b64end = NULL;
		size_t got = 0;
		while (s < end && *s == ' ') {
			s++;
		}
		if (s >= end) {
			break;
		}
		tok = s;
		while (s < end && *s != ' ') {
			s++;
		}
		CHECK(p->n < TLOG_PROOF_MAX, "proof too long");
		CHECK(sodium_base642bin(p->h[p->n], H, tok, (size_t)(s - tok),
					NULL, &got, &b64end,
					sodium_base64_VARIANT_ORIGINAL) == 0 &&
			  got == H && b64end == s,
		      "bad base64 hash from Go");
		p->n++;
	}
}

static uint64_t
parse_u64(const char **s, const char *end)
{
	uint64_t v = 0;
	int digits = 0;

	while (*s < end && **s >= '0' && **s <= '9' && digits < 20) {
		v = v * 10 + (uint64_t)(**s - '0');
		(*s)++;
		digits++;
	}
	CHECK(digits > 0, "number expected");
	return v;
}

static int
same_proof(const tlog_proof *a, const tlog_proof *b)
{
	return a->n == b->n && memcmp(a->h, b->h, a->n * H) == 0;
}

/* Checks what Go wrote back: its proofs (verified with our verifiers and
 * equal to ours) and its own signed checkpoint. */
static void
check_go_output(test_env *e, const char *dir, uint64_t size,
		const uint8_t root[H], unsigned *nincl, unsigned *ncons)
{
	itk_buf *f = read_file(dir, "go-proofs.txt");
	const char *p = (const char *)itk_buf_ptr(f);
	const char *end = p + itk_buf_len(f);
	MDB_txn *txn = NULL;

	CHECK(mdb_txn_begin(e->env, NULL, MDB_RDONLY, &txn) == 0, "txn");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl != NULL ? nl : end;
		tlog_proof theirs, ours;
		uint8_t buf[512], leaf[H], rm[H], ourm[H];
		if (le - p > 5 && memcmp(p, "incl ", 5) == 0) {
			p += 5;
			uint64_t i = parse_u64(&p, le);
			parse_hashes(p, le, &theirs);
			tlog_leaf_hash(leaf, buf, entry(i, buf));
			CHECK(tlog_verify_inclusion(leaf, i, size, theirs.h[0],
						    theirs.n, root) == ITK_OK,
			      "Go's inclusion proof %" PRIu64 " fails here",
			      i);
			CHECK(tlog_prove_inclusion(e->t, txn, i, size,
						   &ours) == ITK_OK,
			      "prove");
			CHECK(same_proof(&ours, &theirs),
			      "inclusion proofs differ at %" PRIu64, i);
			(*nincl)++;
		} else if (le - p > 5 && memcmp(p, "cons ", 5) == 0) {
			const char *tok;
			size_t got = 0;
			p += 5;
			uint64_t m = parse_u64(&p, le);
			CHECK(p < le && *p == ' ', "cons line");
			tok = ++p;
			while (p < le && *p != ' ') {
				p++;
			}
			CHECK(sodium_base642bin(
				  rm, H, tok, (size_t)(p - tok), NULL, &got,
				  NULL, sodium_base64_VARIANT_ORIGINAL) == 0 &&
				  got == H,
			      "cons root");
			parse_hashes(p, le, &theirs);
			CHECK(tlog_root(e->t, txn, m, ourm) == ITK_OK &&
				  memcmp(ourm, rm, H) == 0,
			      "root of %" PRIu64 " differs", m);
			CHECK(tlog_verify_consistency(m, size, rm, root,
						      theirs.h[0],
						      theirs.n) == ITK_OK,
			      "Go's consistency proof %" PRIu64 " fails here",
			      m);
			CHECK(tlog_prove_consistency(e->t, txn, m, size,
						     &ours) == ITK_OK,
			      "prove");
			CHECK(same_proof(&ours, &theirs),
			      "consistency proofs differ at %" PRIu64, m);
			(*ncons)++;
		} else if (le > p) {
			CHECK(0, "unexpected line from Go");
		}
		p = le + 1;
	}
	mdb_txn_abort(txn);
	itk_buf_free(f);

	/* Go's signed checkpoint, through our verifier-key parser and our
	 * checkpoint_open. */
	itk_buf *vk = read_file(dir, "go-vkey");
	itk_buf *gn = read_file(dir, "go-note");
	note_verifier gv;
	checkpoint cp;
	CHECK(note_verifier_parse((const char *)itk_buf_ptr(vk),
				  itk_buf_len(vk), &gv) == ITK_OK,
	      "Go's verifier key does not parse");
	CHECK(checkpoint_open(itk_buf_ptr(gn), itk_buf_len(gn), &gv, &cp,
			      NULL) == ITK_OK,
	      "Go's signed checkpoint does not open");
	CHECK(cp.size == size && memcmp(cp.root, root, H) == 0,
	      "Go's checkpoint names another tree");
	/* And a bit flipped in it is caught. */
	itk_buf_mutable_ptr(gn)[3] ^= 0x01;
	CHECK(checkpoint_open(itk_buf_ptr(gn), itk_buf_len(gn), &gv, &cp,
			      NULL) != ITK_OK,
	      "an altered Go checkpoint opened");
	itk_buf_free(vk);
	itk_buf_free(gn);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
one_size(const char *go, uint64_t size)
{
	test_env e;
	note_signer *s = NULL;
	uint8_t pk[32], sk[NOTE_SK_LEN], buf[512], root[H];
	char dir[128];
	itk_buf *b = itk_buf_new(1u << 24);
	MDB_txn *txn = NULL;
	uint64_t idx[SAMPLE_MAX], ms[SAMPLE_MAX];
	size_t nidx = 0, nms = 0;
	tiles_export_stats st;
	tlog_proof p;
	unsigned nincl = 0, ncons = 0;
	double t0;

	CHECK(test_env_open(&e, "interop") == 0, "LMDB environment");
	CHECK(crypto_sign_keypair(pk, sk) == 0, "keypair");
	CHECK(note_signer_new(ORIGIN, NOTE_TYPE_ED25519, sk, &s) == ITK_OK,
	      "signer");
	sodium_memzero(sk, sizeof(sk));
	snprintf(dir, sizeof(dir), "%s/pub", e.dir);

	/* Appends in vault-sized transactions. */
	t0 = now();
	for (uint64_t i = 0; i < size;) {
		CHECK(mdb_txn_begin(e.env, NULL, 0, &txn) == 0, "txn");
		for (uint64_t k = 0; k < 4096 && i < size; k++, i++) {
			uint64_t got;
			CHECK(tlog_append(e.t, txn, buf, entry(i, buf),
					  &got) == ITK_OK &&
				  got == i,
			      "append %" PRIu64, i);
		}
		CHECK(mdb_txn_commit(txn) == 0, "commit");
	}
	double t_append = now() - t0;
	CHECK(mdb_txn_begin(e.env, NULL, 0, &txn) == 0, "txn");
	CHECK(checkpoint_sign(e.t, txn, s, b) == ITK_OK, "sign");
	CHECK(mdb_txn_commit(txn) == 0, "commit");
	t0 = now();
	CHECK(mdb_txn_begin(e.env, NULL, MDB_RDONLY, &txn) == 0, "txn");
	CHECK(tiles_export(e.t, txn, dir, &st) == ITK_OK, "export");
	double t_export = now() - t0;

	/* Our verifier key and a sample of our proofs for Go. */
	itk_buf_reset(b);
	CHECK(note_verifier_format(note_signer_verifier(s), b) == ITK_OK,
	      "vkey");
	write_file(dir, "vkey", itk_buf_ptr(b), itk_buf_len(b));
	static const uint64_t edges[] = {0,   1,   2,   3,   254,   255,
					 256, 257, 511, 512, 65535, 65536};
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		sample_add(idx, &nidx, edges[i], size);
		sample_add(idx, &nidx, size - 1 - edges[i] % size, size);
		sample_add(ms, &nms, edges[i] + 1, size + 1);
	}
	for (uint64_t i = 0; i < 64; i++) {
		sample_add(idx, &nidx, (i * 2654435761u) % size, size);
		sample_add(ms, &nms, 1 + (i * 40503u) % size, size + 1);
	}
	sample_add(ms, &nms, size, size + 1);
	sample_add(ms, &nms, size / 2 + 1, size + 1);
	CHECK(tlog_root(e.t, txn, size, root) == ITK_OK, "root");
	itk_buf_reset(b);
	for (size_t i = 0; i < nidx; i++) {
		CHECK(tlog_prove_inclusion(e.t, txn, idx[i], size, &p) ==
			  ITK_OK,
		      "prove");
		CHECK(itk_buf_printf(b, "incl %" PRIu64, idx[i]) == ITK_OK &&
			  put_proof(b, &p) == ITK_OK &&
			  itk_buf_put_u8(b, '\n') == ITK_OK,
		      "buffer");
	}
	for (size_t i = 0; i < nms; i++) {
		uint8_t rm[H];
		CHECK(tlog_root(e.t, txn, ms[i], rm) == ITK_OK &&
			  tlog_prove_consistency(e.t, txn, ms[i], size, &p) ==
			      ITK_OK,
		      "prove");
		CHECK(itk_buf_printf(b, "cons %" PRIu64, ms[i]) == ITK_OK &&
			  put_b64(b, rm) == ITK_OK &&
			  put_proof(b, &p) == ITK_OK &&
			  itk_buf_put_u8(b, '\n') == ITK_OK,
		      "buffer");
	}
	mdb_txn_abort(txn);
	write_file(dir, "proofs.txt", itk_buf_ptr(b), itk_buf_len(b));

	run_go(go, dir);
	check_go_output(&e, dir, size, root, &nincl, &ncons);
	CHECK(nincl == nidx && ncons == nms,
	      "Go answered %u/%zu inclusion and %u/%zu consistency proofs",
	      nincl, nidx, ncons, nms);
	printf("interop_tlog: size %" PRIu64 ": Go verified our checkpoint, "
	       "%" PRIu64 " tiles and %" PRIu64 " bundles, %zu inclusion and "
	       "%zu consistency proofs; we verified Go's (equal to ours) and "
	       "its checkpoint; append %.0f/s, export %.2f s\n",
	       size, st.tiles_written, st.bundles_written, nidx, nms,
	       (double)size / (t_append > 0 ? t_append : 1e-9), t_export);
	fflush(stdout);
	note_signer_free(s);
	itk_buf_free(b);
	test_env_close(&e);
}

int
main(int argc, char **argv)
{
	static const uint64_t defaults[] = {1, 255, 256, 257, 1000, 65537};

	CHECK(argc >= 2, "usage: interop_tlog <go binary> [size...]");
	CHECK(itk_crypto_init() == ITK_OK, "libsodium");
	if (argc > 2) {
		for (int i = 2; i < argc; i++) {
			const char *s = argv[i];
			uint64_t n = parse_u64(&s, s + strlen(s));
			CHECK(*s == '\0' && n > 0, "bad size %s", argv[i]);
			one_size(argv[1], n);
		}
	} else {
		for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]);
		     i++) {
			one_size(argv[1], defaults[i]);
		}
	}
	return 0;
}
