#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Interoperability of the C constructions with an independent implementation.

Runs with Debian's python3 and its python3-nacl and python3-protobuf only.
Consumes the published vectors (tests/vectors/*.json) and drives the C code
through tests/interop/itk_vector_tool, both ways: Python seals and C opens,
C seals and Python opens, signatures each way, protobuf bytes each way, and
the passphrase identity recomputed from docs/protocol.md alone.

usage: test_interop.py VECTOR_TOOL VECTORS_DIR PROTO_FILE WORDLISTS_DIR
"""
import hashlib
import importlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import traceback

import nacl.bindings as nb
import nacl.exceptions
import nacl.pwhash
import nacl.signing
from nacl.public import PrivateKey, PublicKey, SealedBox

TOOL, VECDIR, PROTO, WORDDIR = sys.argv[1:5]

BUCKETS = None  # from padding.json
CONTEXTS = None  # from signature.json
LANGS = ("en", "ru", "uk")  # the parse order of docs/protocol.md


def vectors(name):
    with open(os.path.join(VECDIR, name + ".json")) as f:
        return json.load(f)


def tool(*args, stdin=""):
    """Runs the C tool; returns (exit code, stdout stripped, stderr)."""
    p = subprocess.run([TOOL, *args], input=stdin, capture_output=True,
                       text=True, timeout=120)
    return p.returncode, p.stdout.strip(), p.stderr.strip()


def tool_ok(*args, stdin=""):
    rc, out, err = tool(*args, stdin=stdin)
    assert rc == 0, f"tool {args[0]} failed: {err}"
    return out


# ------------------------------------------------------------ padding

def pad(msg):
    """ISO/IEC 7816-4 padding to the smallest bucket > len(msg)."""
    for b in BUCKETS:
        if len(msg) < b:
            return msg + b"\x80" + b"\x00" * (b - len(msg) - 1)
    raise ValueError("too_big")


def unpad(padded):
    assert len(padded) in BUCKETS, "padded length is not a bucket"
    i = padded.rstrip(b"\x00")
    assert i.endswith(b"\x80"), "bad padding"
    return i[:-1]


def pattern(n):
    return bytes(i % 251 for i in range(n))


def t_padding_vectors():
    global BUCKETS
    v = vectors("padding")
    BUCKETS = v["buckets"]
    for vec in v["vectors"]:
        msg = pattern(vec["message_len"])
        if vec["result"] == "too_big":
            try:
                pad(msg)
            except ValueError:
                continue
            raise AssertionError("expected too_big")
        p = pad(msg)
        assert len(p) == vec["bucket"]
        assert vec["sealed_len"] == len(p) + 48
        assert hashlib.sha256(p).hexdigest() == vec["padded_sha256"]
        if "padded_hex" in vec:
            assert p.hex() == vec["padded_hex"]


# ---------------------------------------------------------- sealed box

def t_sealed_vectors_python_opens():
    for vec in vectors("sealed_box")["vectors"]:
        sk = PrivateKey(bytes.fromhex(vec["recipient_sk"]))
        assert bytes(sk.public_key).hex() == vec["recipient_pk"]
        sealed = bytes.fromhex(vec["sealed"])
        assert hashlib.sha256(sealed).hexdigest() == vec["submission_id"]
        try:
            got = unpad(SealedBox(sk).decrypt(sealed))
        except nacl.exceptions.CryptoError:
            assert vec["result"] == "decrypt"
            continue
        assert vec["result"] == "ok"
        assert got.hex() == vec["plaintext"]


def t_sealed_vectors_reproduced():
    """The documented construction rebuilt from primitives."""
    for vec in vectors("sealed_box")["vectors"]:
        if vec["result"] != "ok":
            continue
        rpk = bytes.fromhex(vec["recipient_pk"])
        epk, esk = nb.crypto_box_seed_keypair(
            bytes.fromhex(vec["ephemeral_seed"]))
        assert epk.hex() == vec["ephemeral_pk"]
        nonce = hashlib.blake2b(epk + rpk, digest_size=24).digest()
        assert nonce.hex() == vec["nonce"]
        padded = pad(bytes.fromhex(vec["plaintext"]))
        assert len(padded) == vec["bucket"]
        sealed = epk + nb.crypto_box(padded, nonce, rpk, esk)
        assert sealed.hex() == vec["sealed"]


def t_python_seals_c_opens():
    for n in (0, 1, 100, 511, 512, 3000, 9000):
        sk = PrivateKey.generate()
        msg = secrets.token_bytes(n)
        sealed = SealedBox(sk.public_key).encrypt(pad(msg))
        out = tool_ok("open", bytes(sk).hex(), stdin=sealed.hex())
        assert out == msg.hex(), f"C opened {n} bytes differently"
        # Altered by one bit: C must refuse with the one generic error.
        bad = bytearray(sealed)
        bad[len(bad) // 2] ^= 0x80
        rc, _, err = tool("open", bytes(sk).hex(), stdin=bytes(bad).hex())
        assert rc == 1 and err == "decrypt", (rc, err)
    # Python sealing without padding: C refuses (not a bucket size).
    sk = PrivateKey.generate()
    sealed = SealedBox(sk.public_key).encrypt(b"unpadded")
    rc, _, err = tool("open", bytes(sk).hex(), stdin=sealed.hex())
    assert rc == 1 and err == "decrypt"


def t_c_seals_python_opens():
    for n in (0, 1, 511, 512, 2047, 5000):
        sk = PrivateKey.generate()
        msg = secrets.token_bytes(n)
        sealed = bytes.fromhex(
            tool_ok("seal", bytes(sk.public_key).hex(), stdin=msg.hex()))
        assert len(sealed) == len(pad(msg)) + 48
        assert unpad(SealedBox(sk).decrypt(sealed)) == msg
    # Sealing is randomised: two seals of the same message differ.
    sk = PrivateKey.generate()
    a = tool_ok("seal", bytes(sk.public_key).hex(), stdin="00")
    b = tool_ok("seal", bytes(sk.public_key).hex(), stdin="00")
    assert a != b


# ------------------------------------------------------------- key ids

def key_id(pk):
    return hashlib.sha256(b"intake-v1 key id\x00" + pk).digest()[:4]


def t_key_ids():
    for vec in vectors("key_id")["vectors"]:
        pk, _ = nb.crypto_box_seed_keypair(bytes.fromhex(vec["seed"]))
        assert pk.hex() == vec["public_key"]
        kid = key_id(pk)
        assert kid.hex() == vec["key_id_hex"]
        assert int.from_bytes(kid, "big") == vec["key_id"]
    pk = bytes(PrivateKey.generate().public_key)
    assert tool_ok("keyid", pk.hex()) == key_id(pk).hex()


# ---------------------------------------------------------- signatures

def t_signature_vectors():
    global CONTEXTS
    vs = vectors("signature")["vectors"]
    CONTEXTS = sorted({v["context"] for v in vs})
    # The published contexts (docs/protocol.md): a vector file that lost
    # or gained one without the spec saying so fails here.
    assert CONTEXTS == sorted(["intake-v1 key-bundle", "intake-v1 receipt",
                               "intake-v1 operator-request",
                               "intake-v1 case-export",
                               "intake-v1 queue-keys"]), CONTEXTS
    for vec in vs:
        sk = nacl.signing.SigningKey(bytes.fromhex(vec["seed"]))
        assert bytes(sk.verify_key).hex() == vec["public_key"]
        msg = bytes.fromhex(vec["message_hex"])
        signed = vec["context"].encode() + b"\x00" + msg
        assert signed.hex() == vec["signed_bytes_hex"]
        sig = bytes.fromhex(vec["signature"])
        assert sk.sign(signed).signature == sig  # Ed25519 is deterministic
        sk.verify_key.verify(signed, sig)
        for other in CONTEXTS:
            if other == vec["context"]:
                continue
            try:
                sk.verify_key.verify(other.encode() + b"\x00" + msg, sig)
            except nacl.exceptions.BadSignatureError:
                continue
            raise AssertionError("signature verified under another context")


def t_signatures_both_ways():
    for ctx in CONTEXTS:
        seed = secrets.token_bytes(32)
        sk = nacl.signing.SigningKey(seed)
        pk = bytes(sk.verify_key).hex()
        msg = secrets.token_bytes(77)
        # Python signs, C verifies (and refuses under other contexts).
        sig = sk.sign(ctx.encode() + b"\x00" + msg).signature
        assert tool_ok("verify", ctx, pk, sig.hex(), stdin=msg.hex()) == "ok"
        for other in CONTEXTS:
            if other != ctx:
                rc, _, err = tool("verify", other, pk, sig.hex(),
                                  stdin=msg.hex())
                assert rc == 1 and err == "verify"
        # C signs, Python verifies.
        csig = bytes.fromhex(tool_ok("sign", ctx, seed.hex(),
                                     stdin=msg.hex()))
        sk.verify_key.verify(ctx.encode() + b"\x00" + msg, csig)
        assert csig == sig


# ---------------------------------------------------------- passphrase

WORDS = {}


def load_words():
    for code in LANGS:
        path = os.path.join(WORDDIR, code + ".txt")
        with open(path, "rb") as f:
            raw = f.read()
        WORDS[code] = (raw.decode("ascii").split("\n")[:-1],
                       hashlib.sha256(raw).hexdigest())


def canonical(code, idx):
    return (b"intake-v1 passphrase\x00" + code.encode() + bytes([8]) +
            b"".join(i.to_bytes(2, "big") for i in idx))


def checksum_index(code, canon):
    h = hashlib.sha256(b"intake-v1 passphrase checksum\x00" + canon).digest()
    return int.from_bytes(h[:2], "big") & (len(WORDS[code][0]) - 1)


def parse(text):
    """docs/protocol.md's parse: returns canonical bytes or an error token."""
    for sep in "\t\r\n-,.":
        text = text.replace(sep, " ")
    words = [w.lower() for w in text.split(" ") if w]
    if len(words) != 9:
        return "range"
    saw_checksum = False
    for code in LANGS:
        lst = WORDS[code][0]
        pos = {w: i for i, w in enumerate(lst)}
        if not all(w in pos for w in words):
            continue
        idx = [pos[w] for w in words]
        canon = canonical(code, idx[:8])
        if checksum_index(code, canon) == idx[8]:
            return canon
        saw_checksum = True
    return "checksum" if saw_checksum else "word"


def identity(canon, kdf):
    master = nacl.pwhash.argon2id.kdf(
        32, canon, bytes.fromhex(kdf["salt"]),
        opslimit=kdf["opslimit"], memlimit=kdf["memlimit"])

    def subkey(i):
        # crypto_kdf_derive_from_key = BLAKE2b(key=master, salt=id LE64 ||
        # 8 zero bytes, personal=context || 8 zero bytes), empty message.
        return hashlib.blake2b(
            b"", digest_size=32, key=master,
            salt=i.to_bytes(8, "little") + bytes(8),
            person=kdf["kdf_context"].encode() + bytes(8)).digest()

    seed = subkey(kdf["subkey_reply"])
    pk, sk = nb.crypto_box_seed_keypair(seed)
    return master, seed, pk, sk, subkey(kdf["subkey_mailbox"])


def t_passphrase_vectors():
    load_words()
    v = vectors("passphrase")
    kdf = v["kdf"]
    assert hashlib.sha256(kdf["salt_input"].encode()).digest()[:16].hex() \
        == kdf["salt"]
    for code in LANGS:
        assert v["wordlists"][code]["sha256"] == WORDS[code][1]
        assert v["wordlists"][code]["size"] == len(WORDS[code][0])
    last = None
    n = 0
    for vec in v["vectors"]:
        if vec["kind"] == "identity":
            code = vec["lang"]
            idx = [int(x) for x in vec["indices"].split()]
            words = [WORDS[code][0][i] for i in idx]
            canon = canonical(code, idx)
            words.append(WORDS[code][0][checksum_index(code, canon)])
            assert " ".join(words) == vec["passphrase"]
            assert parse(vec["passphrase"]) == canon
            assert canon.hex() == vec["canonical"]
            master, seed, pk, sk, mb = identity(canon, kdf)
            assert master.hex() == vec["master"]
            assert seed.hex() == vec["reply_seed"]
            assert pk.hex() == vec["reply_pk"]
            assert sk.hex() == vec["reply_sk"]
            assert mb.hex() == vec["mailbox_id"]
            last = canon
            n += 1
        else:
            got = parse(vec["typed"])
            want = last if vec["result"] == "ok" else vec["result"]
            assert got == want, (vec["typed"], got, vec["result"])
    assert n == 6


def t_passphrase_python_made_c_derives():
    """A passphrase Python builds from the spec derives the same identity
    in C; a mistyped one is refused by C with the right error."""
    kdf = vectors("passphrase")["kdf"]
    for code in LANGS:
        lst = WORDS[code][0]
        idx = [secrets.randbelow(len(lst)) for _ in range(8)]
        canon = canonical(code, idx)
        words = [lst[i] for i in idx] + [lst[checksum_index(code, canon)]]
        text = " ".join(words)
        if parse(text) != canon:
            continue  # accepted by an earlier list: generate() redraws
        _, _, pk, _, mb = identity(canon, kdf)
        out = tool_ok("derive", stdin=text.upper().replace(" ", "  "))
        assert out == f"{pk.hex()} {mb.hex()}"
        words[8] = lst[(checksum_index(code, canon) + 1) % len(lst)]
        rc, _, err = tool("derive", stdin=" ".join(words))
        assert rc == 1 and err == "checksum", err
        rc, _, err = tool("derive", stdin=" ".join(words[:8]))
        assert rc == 1 and err == "range", err


# ------------------------------------------------------------ protobuf

def load_pb2():
    out = tempfile.mkdtemp(prefix="itk-pb2-")
    subprocess.run(["protoc", f"--proto_path={os.path.dirname(PROTO)}",
                    f"--python_out={out}", PROTO], check=True)
    sys.path.insert(0, out)
    return importlib.import_module(
        os.path.splitext(os.path.basename(PROTO))[0] + "_pb2")


def build(pb, vec, encodings, reply):
    """The message a vector describes, built from its fields in Python."""
    f = vec["fields"]
    t = vec["message"]
    if t == "Submission":
        return pb.Submission(
            version=f["version"], intake_key_id=f["intake_key_id"],
            sealed=pattern(560),
            pow=pb.ProofOfWork(challenge=bytes.fromhex(f["pow.challenge"]),
                               solution=bytes.fromhex(f["pow.solution"])))
    if t == "KeyBundleBody":
        keys = [pb.IntakeKey(key_id=f[f"intake_keys.{i}.key_id"],
                             public_key=bytes.fromhex(
                                 f[f"intake_keys.{i}.public_key"]),
                             not_before=f[f"intake_keys.{i}.not_before"],
                             not_after=f[f"intake_keys.{i}.not_after"])
                for i in (0, 1)]
        return pb.KeyBundleBody(
            version=f["version"], origin=f["origin"],
            issued_at=f["issued_at"], intake_keys=keys,
            receipt_public_key=bytes.fromhex(f["receipt_public_key"]),
            log_public_key=bytes.fromhex(f["log_public_key"]),
            org_public_key=bytes.fromhex(f["org_public_key"]),
            serial=f["serial"])
    if t == "KeyBundle":
        return pb.KeyBundle(body=encodings["KeyBundleBody"],
                            signature=bytes.fromhex(f["signature"]))
    if t == "ReceiptBody":
        return pb.ReceiptBody(
            version=f["version"],
            submission_id=bytes.fromhex(f["submission_id"]),
            accepted_at=f["accepted_at"], intake_key_id=f["intake_key_id"],
            origin=f["origin"])
    if t == "Receipt":
        return pb.Receipt(body=encodings["ReceiptBody"],
                          signature=bytes.fromhex(f["signature"]))
    if t == "InnerMessage":
        return pb.InnerMessage(
            version=f["version"], channel=f["channel"],
            form_category=f["form_category"], language=f["language"],
            text=f["text"],
            fields=[pb.Field(name=f["fields.0.name"],
                             value=f["fields.0.value"])],
            reply_public_key=bytes.fromhex(reply["reply_pk"]),
            mailbox_id=bytes.fromhex(reply["mailbox_id"]),
            written_at=f["written_at"])
    raise AssertionError("unknown message " + t)


def t_protobuf_both_ways():
    pb = load_pb2()
    v = vectors("protobuf")["vectors"]
    reply = next(x for x in vectors("passphrase")["vectors"]
                 if x["kind"] == "identity" and x["lang"] == "en")
    sigpk = bytes.fromhex(vectors("signature")["vectors"][0]["public_key"])
    encodings = {}
    for vec in v:
        t = vec["message"]
        c_bytes = bytes.fromhex(vec["encoding"])
        # Python parses C's bytes and finds the documented fields.
        parsed = getattr(pb, t)()
        parsed.ParseFromString(c_bytes)
        mine = build(pb, vec, encodings, reply)
        assert parsed == mine, f"{t}: fields differ"
        # Python encodes the same bytes as C.
        py_bytes = mine.SerializeToString()
        assert py_bytes == c_bytes, f"{t}: encodings differ"
        encodings[t] = py_bytes
        # C decodes Python's bytes (capped decoder) and re-encodes them.
        assert tool_ok("decode", t, stdin=py_bytes.hex()) == py_bytes.hex()
        if t in ("KeyBundle", "Receipt"):
            nacl.signing.VerifyKey(sigpk).verify(
                vec["signature_context"].encode() + b"\x00" + parsed.body,
                parsed.signature)
    # The inner message of the sealed-box vector is this InnerMessage.
    sealed = vectors("sealed_box")["vectors"][2]
    assert bytes.fromhex(sealed["plaintext"]) == encodings["InnerMessage"]
    # A Python submission with a wrong version is refused by C's decoder.
    bad = pb.Submission(version=2, intake_key_id=1, sealed=pattern(560))
    rc, _, err = tool("decode", "Submission",
                      stdin=bad.SerializeToString().hex())
    assert rc == 1 and err == "version", err


TESTS = [
    t_padding_vectors,
    t_sealed_vectors_python_opens,
    t_sealed_vectors_reproduced,
    t_python_seals_c_opens,
    t_c_seals_python_opens,
    t_key_ids,
    t_signature_vectors,
    t_signatures_both_ways,
    t_passphrase_vectors,
    t_passphrase_python_made_c_derives,
    t_protobuf_both_ways,
]


def main():
    passed = failed = 0
    for t in TESTS:
        try:
            t()
        except Exception:  # report every failure, then go on
            failed += 1
            print(f"FAIL {t.__name__}")
            traceback.print_exc()
        else:
            passed += 1
            print(f"ok   {t.__name__}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
