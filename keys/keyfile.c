/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Key files: secret keys at rest (.key) and their public halves (.pub).
 * Exact bytes in docs/keys.md ("Secret key file", "Public key file").
 *
 * A .key file is a plaintext header followed by the secret, encrypted with
 * XChaCha20-Poly1305 under a key that Argon2id derives from a passphrase;
 * the whole header is the associated data, so changing any byte of it (a
 * key's window, its role, the KDF cost) makes the file fail to open.  A
 * --dev file uses the all-zero key instead of a passphrase: it is still
 * checked for damage, but protects nothing, and says so in its header.
 */
#include <string.h>

#include <sodium.h>

#include "file.h"
#include "keys.h"
#include "log.h"

#define KEY_MAGIC      "ITK-KEY"
#define PUB_MAGIC      "ITK-PUB"
#define MAGIC_LEN      7u
#define FILE_VERSION   1u
#define FLAG_DEV       0x01u
#define KDF_NONE       0u
#define KDF_ARGON2ID13 1u
#define SALT_LEN       16u /* crypto_pwhash_SALTBYTES */
#define NONCE_LEN      24u /* crypto_aead_xchacha20poly1305_ietf_NPUBBYTES */
#define TAG_LEN        16u /* crypto_aead_xchacha20poly1305_ietf_ABYTES */
#define AEAD_KEY_LEN   32u
#define PUB_SUM_LEN    32u

const itk_kdf_params itk_kdf_interactive = {2u, 64u * 1024u};
const itk_kdf_params itk_kdf_moderate = {3u, 256u * 1024u};
const itk_kdf_params itk_kdf_sensitive = {4u, 1024u * 1024u};

/* Lives in sodium_malloc'd memory (guard pages, mlock), wiped on free. */
struct itk_secret_key {
	itk_key_info info;
	uint8_t secret[ITK_KEY_SECRET_MAX];
	uint64_t secret_len;
};

static const char *const kind_names[] = {
    [ITK_KEY_ORG] = "org",           [ITK_KEY_INTAKE] = "intake",
    [ITK_KEY_RECEIPT] = "receipt",   [ITK_KEY_LOG] = "log",
    [ITK_KEY_OPERATOR] = "operator", [ITK_KEY_VAULT] = "vault",
    [ITK_KEY_SERVICE] = "service",   [ITK_KEY_QUEUE] = "queue",
};
#define KIND_MAX ITK_KEY_QUEUE

static const char *const role_names[] = {
    [ITK_ROLE_NONE] = "",
    [ITK_ROLE_TRIAGE] = "triage",
    [ITK_ROLE_SUPERVISOR] = "supervisor",
    [ITK_ROLE_PHONE] = "phone",
    [ITK_ROLE_ADMIN] = "admin",
};
#define ROLE_MAX ITK_ROLE_ADMIN

const char *
itk_key_kind_name(itk_key_kind kind)
{
	if ((int)kind < 1 || (int)kind > KIND_MAX) {
		return "?";
	}
	return kind_names[kind];
}

int
itk_key_kind_from_name(const char *s)
{
	for (int i = 1; i <= KIND_MAX; i++) {
		if (strcmp(kind_names[i], s) == 0) {
			return i;
		}
	}
	return -1;
}

const char *
itk_role_name(itk_role role)
{
	if ((int)role < 0 || (int)role > ROLE_MAX) {
		return "?";
	}
	return role_names[role];
}

int
itk_role_from_name(const char *s)
{
	for (int i = 1; i <= ROLE_MAX; i++) {
		if (strcmp(role_names[i], s) == 0) {
			return i;
		}
	}
	return -1;
}

static bool
name_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* Names become file names (operators/<name>.key): no '/', no leading '.'. */
static bool
name_bytes_ok(const uint8_t *p, size_t n, bool may_be_empty)
{
	if (n == 0) {
		return may_be_empty;
	}
	if (n > ITK_KEY_NAME_MAX || p[0] == '.') {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		if (!name_char_ok(p[i])) {
			return false;
		}
	}
	return true;
}

itk_err
itk_queue_key_name(itk_queue q, uint32_t version,
		   char out[static ITK_KEY_NAME_MAX + 1])
{
	int n;

	if ((unsigned)q >= ITK_QUEUE_COUNT || version == 0 ||
	    version > ITK_QUEUE_KEY_VERSION_MAX) {
		return ITK_E_RANGE;
	}
	n = snprintf(out, ITK_KEY_NAME_MAX + 1, "%s-%u", itk_queue_name(q),
		     version);
	return n > 0 && n <= (int)ITK_KEY_NAME_MAX ? ITK_OK : ITK_E_RANGE;
}

itk_err
itk_queue_key_parse(const char *name, itk_queue *q, uint32_t *version)
{
	size_t n = strnlen(name, ITK_KEY_NAME_MAX + 1), dash = n;
	char qn[ITK_KEY_NAME_MAX + 1];
	uint32_t v = 0;
	int qi;

	while (dash > 0 && name[dash - 1] != '-') {
		dash--;
	}
	/* "<queue>-<1..6 digits, no leading zero>" */
	if (n > ITK_KEY_NAME_MAX || dash < 2 || dash == n || n - dash > 6 ||
	    name[dash] == '0') {
		return ITK_E_FORMAT;
	}
	for (size_t i = dash; i < n; i++) {
		if (name[i] < '0' || name[i] > '9') {
			return ITK_E_FORMAT;
		}
		v = v * 10u + (uint32_t)(name[i] - '0');
	}
	memcpy(qn, name, dash - 1);
	qn[dash - 1] = '\0';
	if ((qi = itk_queue_from_name(qn)) < 0) {
		return ITK_E_FORMAT;
	}
	*q = (itk_queue)qi;
	*version = v;
	return ITK_OK;
}

bool
itk_key_name_ok(const char *s)
{
	size_t n = strnlen(s, ITK_KEY_NAME_MAX + 1);

	return n > 0 && name_bytes_ok((const uint8_t *)s, n, false);
}

static size_t
secret_len_of(itk_key_kind kind)
{
	switch (kind) {
	case ITK_KEY_ORG:
	case ITK_KEY_RECEIPT:
	case ITK_KEY_LOG:
	case ITK_KEY_OPERATOR:
		return ITK_SIGN_SK_LEN;
	case ITK_KEY_INTAKE:
	case ITK_KEY_SERVICE:
	case ITK_KEY_QUEUE:
		return ITK_SK_LEN;
	case ITK_KEY_VAULT:
		return 32u;
	default:
		return 0;
	}
}

/* The vault key has no public half: a hash of it stands in, so that it
 * has a key id and a fingerprint without revealing anything. */
static void
vault_check_value(uint8_t out[32], const uint8_t key[32])
{
	static const char ctx[] = "intake-v1 vault key check";
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)ctx, sizeof(ctx));
	crypto_hash_sha256_update(&st, key, 32);
	crypto_hash_sha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

/*
 * The rules every header obeys, whichever way it was read: the same
 * function checks what we are about to write and what we have read.
 */
static itk_err
info_check(const itk_key_info *in)
{
	size_t nlen = strnlen(in->name, sizeof(in->name));

	if ((int)in->kind < 1 || (int)in->kind > KIND_MAX) {
		return ITK_E_RANGE;
	}
	if (nlen > ITK_KEY_NAME_MAX ||
	    !name_bytes_ok((const uint8_t *)in->name, nlen,
			   in->kind != ITK_KEY_OPERATOR)) {
		return ITK_E_FORMAT;
	}
	if (in->kind == ITK_KEY_OPERATOR) {
		if ((int)in->role < ITK_ROLE_TRIAGE ||
		    (int)in->role > ROLE_MAX || in->queues == 0 ||
		    (in->queues & ~ITK_KEY_QUEUES_ALL) != 0) {
			return ITK_E_RANGE;
		}
	} else if (in->kind == ITK_KEY_QUEUE) {
		itk_queue q;
		uint32_t ver;
		/* The name says which queue; the queues field must agree. */
		if (in->role != ITK_ROLE_NONE ||
		    itk_queue_key_parse(in->name, &q, &ver) != ITK_OK ||
		    in->queues != (1u << q)) {
			return ITK_E_RANGE;
		}
	} else if (in->role != ITK_ROLE_NONE || in->queues != 0) {
		return ITK_E_RANGE;
	}
	if (in->kind == ITK_KEY_INTAKE) {
		if (in->not_after < in->not_before || in->not_after == 0) {
			return ITK_E_RANGE;
		}
	} else if (in->not_before != 0 || in->not_after != 0) {
		return ITK_E_RANGE;
	}
	if (in->key_id != itk_intake_key_id(in->public_key)) {
		return ITK_E_RANGE;
	}
	return ITK_OK;
}

/*
 * The header fields shared by .key and .pub, after magic and version:
 *   kind u8, flags u8, role u8, reserved u8 (0), queues u32, key_id u32,
 *   created u64, not_before u64, not_after u64, public_key [32],
 *   name string16 (<= 64 bytes).
 */
static itk_err
put_meta(itk_buf *b, const itk_key_info *in)
{
	size_t nlen = strnlen(in->name, sizeof(in->name));
	itk_err r;

	if ((r = info_check(in)) != ITK_OK) {
		return r;
	}
	if ((r = itk_buf_put_u8(b, (uint8_t)in->kind)) != ITK_OK ||
	    (r = itk_buf_put_u8(b, in->dev ? FLAG_DEV : 0)) != ITK_OK ||
	    (r = itk_buf_put_u8(b, (uint8_t)in->role)) != ITK_OK ||
	    (r = itk_buf_put_u8(b, 0)) != ITK_OK ||
	    (r = itk_buf_put_u32(b, in->queues)) != ITK_OK ||
	    (r = itk_buf_put_u32(b, in->key_id)) != ITK_OK ||
	    (r = itk_buf_put_u64(b, in->created)) != ITK_OK ||
	    (r = itk_buf_put_u64(b, in->not_before)) != ITK_OK ||
	    (r = itk_buf_put_u64(b, in->not_after)) != ITK_OK ||
	    (r = itk_buf_put(b, in->public_key, 32)) != ITK_OK ||
	    (r = itk_buf_put_u16(b, (uint16_t)nlen)) != ITK_OK ||
	    (r = itk_buf_put(b, in->name, nlen)) != ITK_OK) {
		return r;
	}
	return ITK_OK;
}

static itk_err
get_meta(itk_reader *rd, itk_key_info *out)
{
	uint8_t kind, flags, role, reserved;
	const uint8_t *name;
	size_t nlen;
	itk_err r;

	memset(out, 0, sizeof(*out));
	if ((r = itk_get_u8(rd, &kind)) != ITK_OK ||
	    (r = itk_get_u8(rd, &flags)) != ITK_OK ||
	    (r = itk_get_u8(rd, &role)) != ITK_OK ||
	    (r = itk_get_u8(rd, &reserved)) != ITK_OK ||
	    (r = itk_get_u32(rd, &out->queues)) != ITK_OK ||
	    (r = itk_get_u32(rd, &out->key_id)) != ITK_OK ||
	    (r = itk_get_u64(rd, &out->created)) != ITK_OK ||
	    (r = itk_get_u64(rd, &out->not_before)) != ITK_OK ||
	    (r = itk_get_u64(rd, &out->not_after)) != ITK_OK ||
	    (r = itk_get_bytes(rd, out->public_key, 32)) != ITK_OK ||
	    (r = itk_get_string16(rd, ITK_KEY_NAME_MAX, &name, &nlen)) !=
		ITK_OK) {
		return r;
	}
	if ((flags & ~FLAG_DEV) != 0 || reserved != 0) {
		return ITK_E_FORMAT;
	}
	if (memchr(name, 0, nlen) != NULL) {
		return ITK_E_FORMAT;
	}
	out->kind = (itk_key_kind)kind;
	out->dev = (flags & FLAG_DEV) != 0;
	out->role = (itk_role)role;
	memcpy(out->name, name, nlen);
	out->name[nlen] = '\0';
	return info_check(out);
}

static itk_err
get_magic(itk_reader *rd, const char *magic)
{
	const uint8_t *m;
	uint8_t version;
	itk_err r;

	if ((r = itk_get_view(rd, MAGIC_LEN, &m)) != ITK_OK) {
		return r;
	}
	if (sodium_memcmp(m, magic, MAGIC_LEN) != 0) {
		return ITK_E_FORMAT;
	}
	if ((r = itk_get_u8(rd, &version)) != ITK_OK) {
		return r;
	}
	return version == FILE_VERSION ? ITK_OK : ITK_E_VERSION;
}

static itk_err
kdf_check(const itk_kdf_params *kdf)
{
	if (kdf->opslimit < ITK_KDF_OPS_MIN ||
	    kdf->opslimit > ITK_KDF_OPS_MAX ||
	    kdf->memlimit_kib < ITK_KDF_MEM_MIN_KIB ||
	    kdf->memlimit_kib > ITK_KDF_MEM_MAX_KIB) {
		return ITK_E_RANGE;
	}
	return ITK_OK;
}

/* The AEAD key: Argon2id of the passphrase, or all zero for --dev. */
static itk_err
derive_key(uint8_t key[AEAD_KEY_LEN], const char *passphrase,
	   const itk_kdf_params *kdf, const uint8_t salt[SALT_LEN])
{
	if (passphrase == NULL) {
		sodium_memzero(key, AEAD_KEY_LEN);
		return ITK_OK;
	}
	if (crypto_pwhash(key, AEAD_KEY_LEN, passphrase, strlen(passphrase),
			  salt, kdf->opslimit,
			  (size_t)kdf->memlimit_kib * 1024u,
			  crypto_pwhash_ALG_ARGON2ID13) != 0) {
		/* The only documented failure: it could not get memory. */
		return ITK_E_NOMEM;
	}
	return ITK_OK;
}

static itk_err
key_alloc(itk_secret_key **out)
{
	itk_secret_key *k;

	if ((k = sodium_malloc(sizeof(*k))) == NULL) {
		return ITK_E_NOMEM;
	}
	memset(k, 0, sizeof(*k));
	*out = k;
	return ITK_OK;
}

void
itk_key_free(itk_secret_key *k)
{
	/* sodium_free wipes the whole allocation before unmapping it. */
	if (k != NULL) {
		sodium_free(k);
	}
}

/*
 * Derives the public half from the secret and compares it with the header:
 * a file whose halves disagree is refused, however it came to be.  For
 * Ed25519 the whole libsodium secret (seed || pk) is rebuilt from its seed.
 */
static itk_err
public_matches(const itk_secret_key *k)
{
	uint8_t pk[32], seed[32], sk[64];
	itk_err r = ITK_E_FORMAT;

	switch (k->info.kind) {
	case ITK_KEY_ORG:
	case ITK_KEY_RECEIPT:
	case ITK_KEY_LOG:
	case ITK_KEY_OPERATOR:
		memcpy(seed, k->secret, sizeof(seed));
		if (crypto_sign_seed_keypair(pk, sk, seed) != 0 ||
		    sodium_memcmp(sk, k->secret, sizeof(sk)) != 0) {
			goto out;
		}
		break;
	case ITK_KEY_INTAKE:
	case ITK_KEY_SERVICE:
	case ITK_KEY_QUEUE:
		if (crypto_scalarmult_base(pk, k->secret) != 0) {
			goto out;
		}
		break;
	case ITK_KEY_VAULT:
		vault_check_value(pk, k->secret);
		break;
	default:
		goto out;
	}
	r = sodium_memcmp(pk, k->info.public_key, 32) == 0 ? ITK_OK
							   : ITK_E_FORMAT;
out:
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(sk, sizeof(sk));
	return r;
}

itk_err
itk_key_generate(const itk_key_info *tmpl, itk_secret_key **out)
{
	itk_secret_key *k = NULL;
	itk_err r;

	if ((r = itk_crypto_init()) != ITK_OK) {
		return r;
	}
	if ((r = key_alloc(&k)) != ITK_OK) {
		return r;
	}
	k->info = *tmpl;
	k->info.dev = false;
	k->info.name[ITK_KEY_NAME_MAX] = '\0';
	k->secret_len = secret_len_of(tmpl->kind);
	switch (tmpl->kind) {
	case ITK_KEY_ORG:
	case ITK_KEY_RECEIPT:
	case ITK_KEY_LOG:
	case ITK_KEY_OPERATOR:
		if (crypto_sign_keypair(k->info.public_key, k->secret) != 0) {
			r = ITK_E_CRYPTO;
			goto out;
		}
		break;
	case ITK_KEY_INTAKE:
	case ITK_KEY_SERVICE:
	case ITK_KEY_QUEUE:
		if (crypto_box_keypair(k->info.public_key, k->secret) != 0) {
			r = ITK_E_CRYPTO;
			goto out;
		}
		break;
	case ITK_KEY_VAULT:
		randombytes_buf(k->secret, 32);
		vault_check_value(k->info.public_key, k->secret);
		break;
	default:
		r = ITK_E_RANGE;
		goto out;
	}
	k->info.key_id = itk_intake_key_id(k->info.public_key);
	if ((r = info_check(&k->info)) != ITK_OK) {
		goto out;
	}
	*out = k;
	k = NULL; /* transferred */
	r = ITK_OK;
out:
	itk_key_free(k);
	return r;
}

itk_err
itk_key_encode(const itk_secret_key *k, const char *passphrase,
	       const itk_kdf_params *kdf, itk_buf *out)
{
	itk_key_info info = k->info;
	itk_kdf_params cost = {0, 0};
	uint8_t salt[SALT_LEN] = {0}, nonce[NONCE_LEN];
	uint8_t key[AEAD_KEY_LEN];
	unsigned long long clen = 0;
	size_t start = itk_buf_len(out), hlen;
	uint8_t *ct;
	itk_err r;

	if (passphrase != NULL && passphrase[0] == '\0') {
		return ITK_E_RANGE;
	}
	if (passphrase != NULL) {
		cost = kdf != NULL ? *kdf : itk_kdf_moderate;
		if ((r = kdf_check(&cost)) != ITK_OK) {
			return r;
		}
		randombytes_buf(salt, sizeof(salt));
	}
	randombytes_buf(nonce, sizeof(nonce));
	info.dev = passphrase == NULL;
	/* Header: everything but the ciphertext, which it authenticates. */
	if ((r = itk_buf_put(out, KEY_MAGIC, MAGIC_LEN)) != ITK_OK ||
	    (r = itk_buf_put_u8(out, FILE_VERSION)) != ITK_OK ||
	    (r = put_meta(out, &info)) != ITK_OK ||
	    (r = itk_buf_put_u8(out, passphrase == NULL ? KDF_NONE
							: KDF_ARGON2ID13)) !=
		ITK_OK ||
	    (r = itk_buf_put_u32(out, cost.opslimit)) != ITK_OK ||
	    (r = itk_buf_put_u32(out, cost.memlimit_kib)) != ITK_OK ||
	    (r = itk_buf_put(out, salt, sizeof(salt))) != ITK_OK ||
	    (r = itk_buf_put(out, nonce, sizeof(nonce))) != ITK_OK ||
	    (r = itk_buf_put_u16(out, (uint16_t)(k->secret_len + TAG_LEN))) !=
		ITK_OK) {
		goto out;
	}
	hlen = itk_buf_len(out) - start;
	if ((r = derive_key(key, passphrase, &cost, salt)) != ITK_OK) {
		goto out;
	}
	if ((r = itk_buf_reserve(out, k->secret_len + TAG_LEN, &ct)) !=
	    ITK_OK) {
		goto out;
	}
	/* Reserve may move the buffer: take the header pointer after it. */
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(
		ct, &clen, k->secret, k->secret_len, itk_buf_ptr(out) + start,
		hlen, NULL, nonce, key) != 0 ||
	    clen != k->secret_len + TAG_LEN) {
		r = ITK_E_CRYPTO;
		goto out;
	}
	r = ITK_OK;
out:
	sodium_memzero(key, sizeof(key));
	return r;
}

itk_err
itk_key_decode(const uint8_t *p, size_t len, const char *passphrase,
	       itk_secret_key **out)
{
	itk_secret_key *k = NULL;
	itk_reader rd;
	itk_key_info info;
	itk_kdf_params cost;
	uint8_t kdf_alg, key[AEAD_KEY_LEN];
	const uint8_t *salt, *nonce, *ct;
	uint16_t clen;
	size_t hlen, slen;
	itk_err r;

	sodium_memzero(key, sizeof(key));
	if (len > ITK_KEY_FILE_MAX) {
		r = ITK_E_TOO_BIG;
		goto out;
	}
	if ((r = itk_crypto_init()) != ITK_OK) {
		goto out;
	}
	itk_reader_init(&rd, p, len);
	if ((r = get_magic(&rd, KEY_MAGIC)) != ITK_OK ||
	    (r = get_meta(&rd, &info)) != ITK_OK ||
	    (r = itk_get_u8(&rd, &kdf_alg)) != ITK_OK ||
	    (r = itk_get_u32(&rd, &cost.opslimit)) != ITK_OK ||
	    (r = itk_get_u32(&rd, &cost.memlimit_kib)) != ITK_OK ||
	    (r = itk_get_view(&rd, SALT_LEN, &salt)) != ITK_OK ||
	    (r = itk_get_view(&rd, NONCE_LEN, &nonce)) != ITK_OK ||
	    (r = itk_get_u16(&rd, &clen)) != ITK_OK) {
		goto out;
	}
	hlen = rd.off;
	/* The KDF field must agree with the dev flag, both ways. */
	if (info.dev) {
		static const uint8_t zero[SALT_LEN];
		if (kdf_alg != KDF_NONE || cost.opslimit != 0 ||
		    cost.memlimit_kib != 0 ||
		    sodium_memcmp(salt, zero, SALT_LEN) != 0) {
			r = ITK_E_FORMAT;
			goto out;
		}
	} else if (kdf_alg != KDF_ARGON2ID13) {
		r = ITK_E_FORMAT;
		goto out;
	} else if ((r = kdf_check(&cost)) != ITK_OK) {
		goto out;
	}
	slen = secret_len_of(info.kind);
	if (clen != slen + TAG_LEN) {
		r = ITK_E_RANGE;
		goto out;
	}
	if ((r = itk_get_view(&rd, clen, &ct)) != ITK_OK ||
	    (r = itk_reader_end(&rd)) != ITK_OK) {
		goto out;
	}
	if (!info.dev && (passphrase == NULL || passphrase[0] == '\0')) {
		r = ITK_E_PASSPHRASE;
		goto out;
	}
	if ((r = derive_key(key, info.dev ? NULL : passphrase, &cost, salt)) !=
	    ITK_OK) {
		goto out;
	}
	if ((r = key_alloc(&k)) != ITK_OK) {
		goto out;
	}
	k->info = info;
	k->secret_len = slen;
	/* One error for a wrong passphrase and for any altered byte. */
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		k->secret, NULL, NULL, ct, clen, p, hlen, nonce, key) != 0) {
		r = ITK_E_PASSPHRASE;
		goto out;
	}
	if ((r = public_matches(k)) != ITK_OK) {
		goto out;
	}
	*out = k;
	k = NULL; /* transferred */
	r = ITK_OK;
out:
	sodium_memzero(key, sizeof(key));
	itk_key_free(k);
	return r;
}

itk_err
itk_key_save(const itk_secret_key *k, const char *path, const char *passphrase,
	     const itk_kdf_params *kdf)
{
	itk_buf *b;
	itk_err r;

	if ((b = itk_buf_new(ITK_KEY_FILE_MAX)) == NULL) {
		return ITK_E_NOMEM;
	}
	if ((r = itk_key_encode(k, passphrase, kdf, b)) != ITK_OK) {
		goto out;
	}
	r = itk_file_write_atomic(path, itk_buf_ptr(b), itk_buf_len(b), 0600,
				  1);
out:
	itk_buf_free(b);
	return r;
}

itk_err
itk_key_load(const char *path, const char *passphrase, itk_secret_key **out)
{
	itk_buf *b = NULL;
	itk_err r;

	if ((r = itk_file_read_secret(path, ITK_KEY_FILE_MAX, &b)) != ITK_OK) {
		goto out;
	}
	if ((r = itk_key_decode(itk_buf_ptr(b), itk_buf_len(b), passphrase,
				out)) != ITK_OK) {
		goto out;
	}
	if ((*out)->info.dev) {
		/* Every use, every time: a dev key must never go unnoticed. */
		itk_log_warn("keys.insecure_dev_key",
			     "kind=%s key_id=%08x path=%s msg=\"INSECURE: "
			     "development key without passphrase; never use "
			     "it for real submissions\"",
			     itk_key_kind_name((*out)->info.kind),
			     (*out)->info.key_id, path);
	}
	r = ITK_OK;
out:
	itk_buf_free(b);
	return r;
}

/* ------------------------------------------------------------ .pub */

static void
pub_sum(uint8_t out[PUB_SUM_LEN], const uint8_t *p, size_t len)
{
	crypto_hash_sha256(out, p, len);
}

itk_err
itk_key_public_encode(const itk_key_info *info, itk_buf *out)
{
	size_t start = itk_buf_len(out);
	uint8_t sum[PUB_SUM_LEN];
	itk_err r;

	if ((r = itk_buf_put(out, PUB_MAGIC, MAGIC_LEN)) != ITK_OK ||
	    (r = itk_buf_put_u8(out, FILE_VERSION)) != ITK_OK ||
	    (r = put_meta(out, info)) != ITK_OK) {
		return r;
	}
	pub_sum(sum, itk_buf_ptr(out) + start, itk_buf_len(out) - start);
	return itk_buf_put(out, sum, sizeof(sum));
}

itk_err
itk_key_public_decode(const uint8_t *p, size_t len, itk_key_info *out)
{
	itk_reader rd;
	itk_key_info info;
	uint8_t sum[PUB_SUM_LEN];
	const uint8_t *want;
	itk_err r;

	if (len > ITK_KEY_FILE_MAX) {
		return ITK_E_TOO_BIG;
	}
	itk_reader_init(&rd, p, len);
	if ((r = get_magic(&rd, PUB_MAGIC)) != ITK_OK ||
	    (r = get_meta(&rd, &info)) != ITK_OK) {
		return r;
	}
	pub_sum(sum, p, rd.off);
	if ((r = itk_get_view(&rd, PUB_SUM_LEN, &want)) != ITK_OK ||
	    (r = itk_reader_end(&rd)) != ITK_OK) {
		return r;
	}
	if (sodium_memcmp(sum, want, PUB_SUM_LEN) != 0) {
		return ITK_E_FORMAT;
	}
	*out = info;
	return ITK_OK;
}

itk_err
itk_key_save_public(const itk_key_info *info, const char *path)
{
	itk_buf *b;
	itk_err r;

	if ((b = itk_buf_new(ITK_KEY_FILE_MAX)) == NULL) {
		return ITK_E_NOMEM;
	}
	if ((r = itk_key_public_encode(info, b)) != ITK_OK) {
		goto out;
	}
	r = itk_file_write_atomic(path, itk_buf_ptr(b), itk_buf_len(b), 0644,
				  0);
out:
	itk_buf_free(b);
	return r;
}

itk_err
itk_key_info_load(const char *path, itk_key_info *out)
{
	itk_buf *b = NULL;
	itk_reader rd;
	const uint8_t *p;
	size_t len;
	itk_err r;

	/* Try as a public file first: those may be world-readable. */
	if ((r = itk_file_read(path, ITK_KEY_FILE_MAX, &b)) != ITK_OK) {
		goto out;
	}
	p = itk_buf_ptr(b);
	len = itk_buf_len(b);
	if (len >= MAGIC_LEN && sodium_memcmp(p, PUB_MAGIC, MAGIC_LEN) == 0) {
		r = itk_key_public_decode(p, len, out);
		goto out;
	}
	itk_buf_free(b);
	b = NULL;
	if ((r = itk_file_read_secret(path, ITK_KEY_FILE_MAX, &b)) != ITK_OK) {
		goto out;
	}
	itk_reader_init(&rd, itk_buf_ptr(b), itk_buf_len(b));
	if ((r = get_magic(&rd, KEY_MAGIC)) != ITK_OK) {
		goto out;
	}
	r = get_meta(&rd, out);
out:
	itk_buf_free(b);
	return r;
}

void
itk_key_fingerprint(itk_key_kind kind, const uint8_t public_key[32],
		    char out[static ITK_FINGERPRINT_LEN])
{
	static const char ctx[] = "intake-v1 fingerprint";
	static const char hex[] = "0123456789abcdef";
	crypto_hash_sha256_state st;
	uint8_t h[ITK_HASH_LEN], kb = (uint8_t)kind;
	size_t o = 0;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const uint8_t *)ctx, sizeof(ctx));
	crypto_hash_sha256_update(&st, &kb, 1);
	crypto_hash_sha256_update(&st, public_key, 32);
	crypto_hash_sha256_final(&st, h);
	for (size_t i = 0; i < 16; i++) {
		if (i > 0 && i % 2 == 0) {
			out[o++] = ' ';
		}
		out[o++] = hex[h[i] >> 4];
		out[o++] = hex[h[i] & 15];
	}
	out[o] = '\0';
}

/* ------------------------------------------------------- accessors */

const itk_key_info *
itk_key_info_of(const itk_secret_key *k)
{
	return &k->info;
}

itk_key_kind
itk_key_kind_of(const itk_secret_key *k)
{
	return k->info.kind;
}

const uint8_t *
itk_key_public(const itk_secret_key *k)
{
	return k->info.public_key;
}

const uint8_t *
itk_key_secret(const itk_secret_key *k)
{
	return k->secret;
}

size_t
itk_key_secret_len(const itk_secret_key *k)
{
	return (size_t)k->secret_len;
}

uint32_t
itk_key_id(const itk_secret_key *k)
{
	return k->info.key_id;
}

uint64_t
itk_key_not_before(const itk_secret_key *k)
{
	return k->info.not_before;
}

uint64_t
itk_key_not_after(const itk_secret_key *k)
{
	return k->info.not_after;
}

const char *
itk_key_role(const itk_secret_key *k)
{
	return itk_role_name(k->info.role);
}

bool
itk_key_is_dev(const itk_secret_key *k)
{
	return k->info.dev;
}

uint32_t
itk_key_queues(const itk_secret_key *k)
{
	return k->info.queues;
}

const char *
itk_key_name(const itk_secret_key *k)
{
	return k->info.name;
}

uint64_t
itk_key_created(const itk_secret_key *k)
{
	return k->info.created;
}
