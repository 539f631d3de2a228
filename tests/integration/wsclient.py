# SPDX-License-Identifier: Apache-2.0
"""A minimal WebSocket client (RFC 6455) and protobuf field codec, standard
library only, for the chat tests: binary messages, client masking,
fragmented receive, close.  Also sends what a browser never would (text
frames, raw bytes) to test the gateway's refusals."""
import base64
import hashlib
import os
import socket
import struct

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Closed(Exception):
    pass


class WS:
    def __init__(self, host, port, path, timeout=10, headers=()):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16))
        req = ["GET %s HTTP/1.1" % path, "Host: %s:%d" % (host, port),
               "Upgrade: websocket", "Connection: Upgrade",
               "Sec-WebSocket-Key: " + key.decode(),
               "Sec-WebSocket-Version: 13"] + list(headers)
        self.sock.sendall(("\r\n".join(req) + "\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            b = self.sock.recv(1)
            if not b:
                raise Closed("closed during handshake")
            head += b
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        if self.status != 101:
            raise Closed("handshake status %d" % self.status)
        want = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
        hdrs = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip()
                for l in lines[1:] if ":" in l}
        if hdrs.get("sec-websocket-accept") != want:
            raise Closed("bad accept key")
        self.close_code = None

    def send_frame(self, op, payload, fin=True):
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([(0x80 if fin else 0) | op])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload)) \
            if n < 4096 else _mask_fast(payload, mask)
        self.sock.sendall(head + mask + body)

    def send(self, payload):
        self.send_frame(0x2, payload)

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            b = self.sock.recv(n - len(buf))
            if not b:
                raise Closed("connection closed")
            buf += b
        return buf

    def recv(self, timeout=None):
        """One whole message (binary), or raises Closed (close_code set)."""
        if timeout is not None:
            self.sock.settimeout(timeout)
        data = b""
        while True:
            h = self._read(2)
            fin, op = h[0] & 0x80, h[0] & 0x0F
            n = h[1] & 0x7F
            if n == 126:
                n = struct.unpack(">H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self._read(8))[0]
            if h[1] & 0x80:
                raise Closed("masked frame from server")
            p = self._read(n)
            if op == 0x8:
                self.close_code = struct.unpack(">H", p[:2])[0] \
                    if len(p) >= 2 else 1005
                raise Closed("close %s" % self.close_code)
            if op in (0x9, 0xA):
                continue
            data += p
            if fin:
                return data

    def close(self):
        try:
            self.send_frame(0x8, struct.pack(">H", 1000))
        except OSError:
            pass
        self.sock.close()


def _mask_fast(payload, mask):
    n = len(payload)
    m = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^
            int.from_bytes(m, "big")).to_bytes(n, "big")


# ------------------------------------------------------------ protobuf

def varint(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        out += bytes([b | (0x80 if v else 0)])
        if not v:
            return out


def field_varint(num, v):
    return varint(num << 3) + varint(v)


def field_bytes(num, b):
    return varint(num << 3 | 2) + varint(len(b)) + b


def parse(buf):
    """{field number: [values]}: ints for varints, bytes otherwise."""
    out, i = {}, 0
    while i < len(buf):
        key, i = _uvarint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _uvarint(buf, i)
        elif wt == 2:
            n, i = _uvarint(buf, i)
            v, i = buf[i:i + n], i + n
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        else:
            raise ValueError("wire type %d" % wt)
        out.setdefault(num, []).append(v)
    return out


def _uvarint(buf, i):
    v, s = 0, 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << s
        s += 7
        if not b & 0x80:
            return v, i


# ChatClientFrame / ChatServerFrame (proto/intake.proto)
def client_frame(seq, submit=None, subscribe=None, unsubscribe=None,
                 ping=False, version=1):
    b = field_varint(1, version) + field_varint(2, seq)
    if submit is not None:
        b += field_bytes(3, submit)
    if subscribe is not None:
        b += field_bytes(4, subscribe)
    if unsubscribe is not None:
        b += field_bytes(5, unsubscribe)
    if ping:
        b += field_varint(6, 1)
    return b


SERVER_KINDS = {3: "receipt", 4: "error", 5: "reply", 6: "subscribed",
                7: "pong"}


def server_frame(buf):
    """(seq, kind, payload, fields) of a ChatServerFrame."""
    f = parse(buf)
    kinds = [k for k in SERVER_KINDS if k in f]
    if len(kinds) != 1 or f.get(1, [0])[0] != 1:
        raise ValueError("bad server frame %r" % f)
    k = kinds[0]
    return f.get(2, [0])[0], SERVER_KINDS[k], f[k][0], f


def error_name(payload):
    return parse(payload).get(2, [b""])[0].decode()
