# SPDX-License-Identifier: Apache-2.0
"""Start and stop the real Intake processes for integration tests.

Standard library only; runs with Debian's /usr/bin/python3.  A Stack lives
in a fresh temporary directory: development keys made by the real key tool,
one gateway, any number of workers, all talking over real nng sockets on
loopback and real LMDB files.  Nothing here sleeps to synchronise: every
wait polls a condition with a deadline.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

BUILD = os.environ.get("INTAKE_BUILD_DIR") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build")
SRC = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def exe(name):
    for sub in ("gateway", "worker", "keys", "client", "tools",
                "operator", "tests/integration"):
        p = os.path.join(BUILD, sub, name)
        if os.path.exists(p):
            return os.path.abspath(p)
    raise FileNotFoundError(name + " not built in " + BUILD)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(cond, timeout, what):
    """Polls cond() until it is truthy or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TimeoutError("timed out waiting for " + what)
        time.sleep(delay)  # polling interval, not synchronisation
        delay = min(delay * 2, 0.2)


def _exit_on_term(signum, frame):
    # meson test ends a test that runs too long with SIGTERM: turn it into
    # an exception so every `finally: st.close()` runs and no process of
    # the stack outlives its test.
    raise SystemExit(128 + signum)


signal.signal(signal.SIGTERM, _exit_on_term)


class Stack:
    def __init__(self, workers=2, spool_max_bytes=256 << 20, lease_ms=5000,
                 name="stack", gw_extra=(), link=None):
        self.dir = tempfile.mkdtemp(prefix="intake-" + name + "-")
        # Started as root, the processes drop to nobody (docs/privsep.md):
        # the worker child must still reach the link socket in here.
        os.chmod(self.dir, 0o711)
        self.keys = os.path.join(self.dir, "keys")
        self.vault = os.path.join(self.dir, "vault")
        self.spool = os.path.join(self.dir, "spool")
        self.logs = os.path.join(self.dir, "logs")
        os.makedirs(self.logs)
        self.http_port = free_port()
        self.metrics_port = free_port()
        self.link = link or "ipc://" + os.path.join(self.dir, "link.ipc")
        self.gw_extra = list(gw_extra)  # more "key = value" lines
        self.url = "http://127.0.0.1:%d" % self.http_port
        self.procs = {}
        self.n_workers = workers
        self.spool_max_bytes = spool_max_bytes
        self.lease_ms = lease_ms
        subprocess.run([exe("intake-keys"), "dev-init", self.keys,
                        "--origin", "intake.test/log"],
                       check=True, capture_output=True)
        self.org_pub = os.path.join(self.keys, "org.pub")
        self._write_configs()

    # ---------------------------------------------------------- configs
    def _write_configs(self):
        gw = os.path.join(self.dir, "gateway.conf")
        with open(gw, "w") as f:
            f.write("\n".join([
                "http_listen = http://127.0.0.1:%d" % self.http_port,
                "metrics_listen = http://127.0.0.1:%d" % self.metrics_port,
                "spool_dir = " + self.spool,
                "spool_max_bytes = %d" % self.spool_max_bytes,
                "link_listen = " + self.link,
                "lease_timeout_ms = %d" % self.lease_ms,
                "bundle_file = " + os.path.join(self.keys, "bundle.pb"),
                "org_public_key_file = " + self.org_pub,
                "receipt_key_file = " + os.path.join(self.keys,
                                                     "receipt.key"),
                "origin = intake.test/log",
                "web_root = " + os.path.join(SRC, "web")]
                + self.gw_extra + [""]))
        self.gateway_conf = gw
        self.worker_confs = []
        for i in range(self.n_workers):
            p = os.path.join(self.dir, "worker%d.conf" % i)
            with open(p, "w") as f:
                f.write("\n".join([
                    "link_url = " + self.link,
                    "keys_dir = " + self.keys,
                    "vault_dir = " + self.vault,
                    "vault_key = " + os.path.join(self.keys, "vault.key"),
                    "worker_id = w%d" % i,
                    ""]))
            self.worker_confs.append(p)

    # -------------------------------------------------------- processes
    def _start(self, name, argv):
        log = open(os.path.join(self.logs, name + ".log"), "ab")
        p = subprocess.Popen(argv, stdout=log, stderr=log,
                             stdin=subprocess.DEVNULL)
        log.close()
        self.procs[name] = p
        return p

    def start_gateway(self):
        self._start("gateway", [exe("intake-gateway"), "--config",
                                self.gateway_conf])
        wait_for(self.healthy, 20, "gateway /healthz")

    def start_worker(self, i):
        self._start("worker%d" % i, [exe("intake-worker"), "--config",
                                     self.worker_confs[i]])

    def start(self):
        self.start_gateway()
        for i in range(self.n_workers):
            self.start_worker(i)
        # A worker links only after its vault is open: once all are
        # connected, the vault exists with its databases, so a test that
        # reads it straight away does not race the first worker's set-up.
        wait_for(lambda: self.metric("intake_gw_workers_connected") >=
                 self.n_workers, 30, "%d workers connected" % self.n_workers)
        return self

    def kill(self, name, sig=signal.SIGKILL):
        p = self.procs.pop(name, None)
        if p is None:
            return None
        p.send_signal(sig)
        return p.wait(timeout=30)

    def stop(self, name):
        return self.kill(name, signal.SIGTERM)

    def stop_all(self):
        # Workers first, so their last acknowledgements reach a live
        # gateway.
        for name in sorted(self.procs, key=lambda n: n == "gateway"):
            try:
                self.stop(name)
            except subprocess.TimeoutExpired:
                self.kill(name)

    def close(self, keep=False):
        self.stop_all()
        if not keep and not os.environ.get("INTAKE_KEEP_TMP"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def alive(self, name):
        p = self.procs.get(name)
        return p is not None and p.poll() is None

    # ------------------------------------------------------------ HTTP
    def http(self, method, path, body=None, port=None):
        url = "http://127.0.0.1:%d%s" % (port or self.http_port, path)
        req = urllib.request.Request(url, data=body, method=method)
        if body is not None:
            req.add_header("Content-Type", "application/x-protobuf")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def healthy(self):
        try:
            return self.http("GET", "/healthz")[0] == 200
        except OSError:
            return False

    def metrics(self):
        """Parses the Prometheus text exposition into {name{labels}: v}."""
        status, body = self.http("GET", "/metrics", port=self.metrics_port)
        assert status == 200, status
        out = {}
        for line in body.decode().splitlines():
            if not line or line.startswith("#"):
                continue
            k, _, v = line.rpartition(" ")
            out[k] = float(v)
        return out

    def metric(self, name, default=0.0):
        m = self.metrics()
        return sum(v for k, v in m.items()
                   if k == name or k.startswith(name + "{"))

    # ------------------------------------------------------------ vault
    def vault_messages(self):
        """{submission_id: dict(queue=..., case=...)} from the real vault."""
        if not os.path.exists(os.path.join(self.vault, "data.mdb")):
            return {}, {}
        r = subprocess.run([exe("intake-vault-ls"), self.vault],
                           capture_output=True, text=True, check=True)
        msgs, totals = {}, {}
        for line in r.stdout.splitlines():
            if line.startswith("message "):
                parts = line.split()
                fields = dict(p.split("=", 1) for p in parts[2:])
                if parts[1] in msgs:
                    fields["dup"] = True
                msgs.setdefault(parts[1], fields)
                msgs[parts[1]]["count"] = msgs[parts[1]].get("count", 0) + 1
            elif line.startswith("totals "):
                totals = {k: int(v) for k, v in
                          (p.split("=", 1) for p in line.split()[1:])}
        return msgs, totals

    # ----------------------------------------------------------- client
    def load(self, corpus, count, clients=8, acked_log=None, deadline=300,
             pad=0, check=True):
        argv = [exe("intake-load"), "--url", self.url, "--org-pub",
                self.org_pub, "--corpus", corpus, "--count", str(count),
                "--clients", str(clients), "--deadline", str(deadline)]
        if acked_log:
            argv += ["--acked-log", acked_log]
        if pad:
            argv += ["--pad", str(pad)]
        return subprocess.Popen(argv, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def logs_text(self):
        out = []
        for n in sorted(os.listdir(self.logs)):
            with open(os.path.join(self.logs, n), "rb") as f:
                out.append(f.read())
        return b"".join(out)


def parse_kv(text):
    return dict(line.split("=", 1) for line in text.splitlines()
                if re.match(r"^[a-z_0-9]+=", line))


def file_contains(path, needles):
    """Whether any of needles (bytes) is in the file at path.  LMDB files
    opened with a writable map are as large as their map and mostly holes
    (gateway spool, vault): only the data extents are read."""
    over = max(len(n) for n in needles)
    step = 16 << 20
    with open(path, "rb") as f:
        fd = f.fileno()
        size = os.fstat(fd).st_size
        off = 0
        while off < size:
            try:
                start = os.lseek(fd, off, os.SEEK_DATA)
            except OSError:  # ENXIO: only a hole after off
                return False
            end = os.lseek(fd, start, os.SEEK_HOLE)
            for pos in range(start, end, step):
                f.seek(pos)
                if any(n in f.read(min(end - pos, step) + over)
                       for n in needles):
                    return True
            off = end
    return False


def read_acked(path):
    """The acked-log of intake-load: [(submission_id, corpus_line)]."""
    out = []
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            sid, _, ln = line.strip().partition("\t")
            out.append((sid, int(ln)))
    return out


class Results:
    """Counts checks and prints the closing line CI reads."""

    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, cond, what):
        if cond:
            self.passed += 1
            print("ok   -", what, flush=True)
        else:
            self.failed += 1
            print("FAIL -", what, flush=True)

    def finish(self):
        print("%d passed, %d failed" % (self.passed, self.failed))
        return 1 if self.failed else 0
