"""Online settlement throughput and latency over HTTP, on a throw-away PostgreSQL.

    python bench/online.py [--seconds 20] [--rate 500] [--workers 3] [--threads 2]
                           [--clients 2] [--conns 4] [--people 2000] [--peer-seconds 5]

Starts PostgreSQL (tests/pgserver.py), migrates, adds an institution with a key and people with
identities, and serves the site's WSGI application (`fangpin.site.wsgi:application`: the
settlement calls answered in front of Django, `fangpin.claims.lean`) under gunicorn (the `bench`
extra; Django's threaded server when it is missing) with gthread workers that keep connections
alive (`--threads 0`: sync workers, which close each connection). It warms every worker, then
drives POST /api/v1/settlements from client processes on raw keep-alive sockets — each claim a
new setl_id, spread over the people so settlements of one person meet now and then (the
two-statement path then falls back to the person-year's lock) — twice: as fast as the server
answers, and paced at `--rate` per second, where each latency counts from when its request was
due. The target (500/s sustained, p99 <= 50 ms) is judged on the paced run.

Prints requests/s, p50/p99 latency and the CPU milliseconds per request of the server, of
PostgreSQL and of the clients (the machine's two cores are shared by all three). Peers: the same
server answering GET /healthz (one SELECT 1 through all of Django); the same site served with
every call through Django (`fangpin.site.wsgi:django_application`), running alongside and driven
the same two ways in turns of a few seconds with the lean one, so that other load on the
machine falls on both alike; and `settle_one` in this process alone (the engine's share).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import multiprocessing as mp
import os
import random
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# One engine thread in every process here (set before numba loads): the server's workers and the
# client processes are the parallelism, and a one-claim kernel call gains nothing from a thread
# pool but its start-up cost.
os.environ["NUMBA_NUM_THREADS"] = "1"
os.environ["POLARS_MAX_THREADS"] = "1"
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
POLICY = "shanxi-linxian-2023"
APP = "fangpin.site.wsgi:application"  # the site, settlement calls answered before Django
DJANGO_APP = "fangpin.site.wsgi:django_application"  # the same site, all through Django
SETTLE = "/api/v1/settlements"
IDENTITIES = ["低保对象", "特困人员", "脱贫不稳定户", "返贫致贫人口", None, None, None]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prepare(people: int) -> tuple[str, list[str]]:
    """Migrate, then an institution, its key, and `people` persons with identities."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangpin.site.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    from tests.people.factories import make_id

    from fangpin.claims.auth import issue_key
    from fangpin.claims.models import Institution
    from fangpin.people.models import Identity, Person
    from fangpin.policy.groups import IDENTITIES as KNOWN

    inst = Institution.objects.create(code="BENCH01", name="压测医院")
    key = issue_key(inst, "bench")
    rng = random.Random(7)
    persons = Person.objects.bulk_create(
        Person(
            id_no=make_id(f"19{50 + i % 40:02d}0101", i % 1000, f"{640300 + i // 1000:06d}"),
            name=f"人{i}",
        )
        for i in range(people)
    )
    idents = []
    for p in persons:
        name = rng.choice(IDENTITIES)
        if name:
            group, dept = KNOWN[name]
            idents.append(
                Identity(
                    person=p, name=name, group=group, department=dept, begin=dt.date(2024, 1, 1)
                )
            )
    Identity.objects.bulk_create(idents)
    return key, [p.id_no for p in persons]


def start_server(
    port: int, workers: int, threads: int, env: dict[str, str], app: str
) -> tuple[subprocess.Popen, str]:
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or shutil.which(
        "gunicorn"
    )
    if gunicorn:
        cmd = [
            gunicorn,
            app,
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "--backlog",
            "2048",
            "--log-level",
            "warning",
        ]
        name = f"gunicorn, {workers} sync workers"
        if threads > 0:
            # Threaded workers keep a client's connection open between its requests.
            cmd += ["--worker-class", "gthread", "--threads", str(threads), "--keep-alive", "5"]
            name = f"gunicorn, {workers} workers x {threads} threads (gthread, keep-alive)"
    else:
        cmd = [sys.executable, "-m", "django", "runserver", "--noreload", f"127.0.0.1:{port}"]
        name = "Django runserver (threaded)"
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return proc, name
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the server did not start")


def body(setl_id: str, psn: str, rng: random.Random) -> bytes:
    total = rng.randrange(20_000, 3_000_000)  # 200 yuan to 30,000 yuan
    return json.dumps(
        {
            "setl_id": setl_id,
            "psn_no": psn,
            "setl_date": f"2024-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
            "med_type": rng.choice(["21", "21", "14", "11"]),
            "hosp_lv": rng.randrange(1, 5),
            "medfee_sumamt": f"{total // 100}.{total % 100:02d}",
            "fulamt_ownpay_amt": f"{total // 2000}.00",
        }
    ).encode()


class _Conn:
    """One keep-alive HTTP/1.1 connection of a client: the request in flight and what came back.
    It connects when its first request is sent (an open, silent connection would hold a sync
    worker)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.buf = b""
        self.due = 0.0  # when its request was (or is to be) sent

    def connect(self) -> socket.socket:
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self.sock

    def response(self) -> tuple[int, bool] | None:
        """(status, server closes) once the whole response is in, else None."""
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = self.buf[:end].decode("latin-1").lower().split("\r\n")
        fields = dict(h.split(":", 1) for h in head[1:])
        if len(self.buf) < end + 4 + int(fields.get("content-length", "0")):
            return None
        close = fields.get("connection", "").strip() == "close" or head[0].startswith("http/1.0")
        return int(head[0].split()[1]), close


def client(args: tuple) -> tuple[list[float], float, float]:
    """One client process: `conns` connections until the deadline; (latencies in ms, the
    process's CPU seconds, seconds from the start to the last response).

    With `rate` 0 each connection sends its next request as soon as the last response is in (as
    many as the server can answer). With a rate (this process's requests per second) each
    connection sends on a fixed schedule, and a request's latency counts from when it was due,
    so a server that falls behind is charged for the wait too.

    Like a hospital system it keeps its connections open between requests (HTTP/1.1 keep-alive)
    and opens a new one only when the server closed it (gunicorn's sync workers close every
    connection after its response). The requests are written and read on raw sockets, so that
    the clients, which share the machine with the server, cost it little."""
    idx, port, key, people, start_at, seconds, path, prefix, conns, rate, phase = args
    rng = random.Random(idx)
    host = f"Host: 127.0.0.1:{port}\r\n"
    get = f"GET {path} HTTP/1.1\r\n{host}\r\n".encode()
    post = (
        f"POST {path} HTTP/1.1\r\n{host}Authorization: Bearer {key}\r\n"
        "Content-Type: application/json\r\nContent-Length: "
    ).encode()
    count = 0

    def send(c: _Conn) -> None:
        nonlocal count
        count += 1
        if path == "/healthz":
            data = get
        else:
            b = body(f"{prefix}{idx}-{count}", rng.choice(people), rng)
            data = post + str(len(b)).encode() + b"\r\n\r\n" + b
        c.buf = b""
        sock = c.connect()
        sock.sendall(data)
        sel.register(sock, selectors.EVENT_READ, c)

    every = conns / rate if rate else 0.0
    while time.time() < start_at:
        time.sleep(0.001)
    cpu = time.process_time()
    t0 = time.perf_counter()
    end = t0 + seconds
    lat: list[float] = []
    sel = selectors.DefaultSelector()
    idle = [_Conn(port) for _ in range(conns)]
    for i, c in enumerate(idle):
        c.due = t0 + every * (i + phase) / conns
    while idle or sel.get_map():
        now = time.perf_counter()
        for c in [c for c in idle if c.due <= now]:
            idle.remove(c)
            send(c)
        wait = max(0.0, min(c.due for c in idle) - now) if idle else 30.0
        for sk, _events in sel.select(timeout=wait):
            c, sock = sk.data, sk.fileobj
            chunk = sock.recv(65536)
            c.buf += chunk
            got = c.response()
            if got is None:
                if not chunk:
                    raise RuntimeError(f"the server closed a connection mid-response on {path}")
                continue
            now = time.perf_counter()
            lat.append((now - c.due) * 1000)
            status, close = got
            if status not in (200, 201):
                raise RuntimeError(f"HTTP {status} from {path}: {c.buf[-300:]!r}")
            sel.unregister(sock)
            due = c.due + every if every else now
            if close or due >= end:
                sock.close()
                c.sock = None
                if due >= end:
                    continue
            c.due = due
            idle.append(c)
    return lat, time.process_time() - cpu, time.perf_counter() - t0


def tree_cpu(pid: int) -> float:
    """CPU seconds used so far by the process `pid` and its descendants, living or ended and
    waited for (Linux /proc)."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents[int(d)] = int(fields[1])
        # Its own time and its reaped children's (PostgreSQL's backends come and go).
        times[int(d)] = sum(int(x) for x in fields[11:15]) / tick
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += times.get(p, 0.0)
        todo += [c for c, pp in parents.items() if pp == p]
    return total


@dataclass
class Run:
    """Timed drives: the latencies (ms, sorted), the seconds driven, and the CPU seconds the
    server, PostgreSQL and the clients used meanwhile."""

    lat: list[float]
    seconds: float
    cpu: tuple[float, float, float]

    @property
    def n(self) -> int:
        return len(self.lat)

    @property
    def rate(self) -> float:
        return self.n / self.seconds

    @property
    def p50(self) -> float:
        return self.lat[self.n // 2]

    @property
    def p99(self) -> float:
        return self.lat[min(self.n - 1, int(self.n * 0.99))]

    def __str__(self) -> str:
        server, db, clients = (c * 1000 / self.n for c in self.cpu)
        return (
            f"{self.n} = {self.rate:.0f}/s, p50 {self.p50:.1f} ms, p99 {self.p99:.1f} ms; "
            f"CPU per request: server {server:.2f} ms, PostgreSQL {db:.2f} ms, "
            f"clients {clients:.2f} ms"
        )

    @staticmethod
    def merge(runs: list[Run]) -> Run:
        return Run(
            sorted(x for r in runs for x in r.lat),
            sum(r.seconds for r in runs),
            tuple(sum(c) for c in zip(*(r.cpu for r in runs), strict=True)),
        )


def drive(
    port: int,
    key: str,
    people: list[str],
    clients: int,
    conns: int,
    seconds: float,
    path: str,
    prefix: str,
    pids: tuple[int, int],
    rate: float = 0,
) -> Run:
    """Drive the server from `clients` processes of `conns` connections each, as fast as it
    answers (`rate` 0) or at `rate` requests per second in all."""
    start_at = time.time() + 1.0  # the client processes start meanwhile
    with mp.get_context("spawn").Pool(clients) as pool:
        pending = pool.map_async(
            client,
            [
                (
                    i,
                    port,
                    key,
                    people,
                    start_at,
                    seconds,
                    path,
                    prefix,
                    conns,
                    rate / clients,
                    i / clients,
                )
                for i in range(clients)
            ],
        )
        while time.time() < start_at:
            time.sleep(0.01)
        before = [tree_cpu(p) for p in pids]
        parts = pending.get()
        after = [tree_cpu(p) for p in pids]
    server, db = (x - y for x, y in zip(after, before, strict=True))
    return Run(
        sorted(x for p, _cpu, _s in parts for x in p),
        max(s for _p, _cpu, s in parts),
        (server, db, sum(cpu for _p, cpu, _s in parts)),
    )


def engine_peer(n: int) -> float:
    """The engine's one-claim path alone (what the server calls), in this process: claims/s."""
    from fangpin.claims.ledger import kind_of
    from fangpin.engine.settle import Accumulators, settle_one
    from fangpin.policy.groups import GROUP_BIT
    from fangpin.policy.registry import load_pack

    pack = load_pack(POLICY)
    rng = random.Random(1)
    claims = []
    for i in range(n):
        b = json.loads(body(f"E{i}", "P", rng))
        total = int(b["medfee_sumamt"].replace(".", ""))
        own = total // 2000 * 100
        claims.append(
            {
                "kind": kind_of(int(b["med_type"])),
                "hosp_lv": b["hosp_lv"],
                "in_province": True,
                "referral": True,
                "inscp": total - own,
                "medfee": total,
                "fulamt": own,
                "setl_date": dt.date.fromisoformat(b["setl_date"]),
                "group_mask": GROUP_BIT["低保"],
            }
        )
    settle_one(pack, **claims[0], accumulators=Accumulators())
    t = time.perf_counter()
    for c in claims:
        settle_one(pack, **c, accumulators=Accumulators())
    return n / (time.perf_counter() - t)


SLICE = 4.0  # seconds a server is driven before the other takes its turn


class Server:
    """One gunicorn serving `app` for the bench, driven by `drive`."""

    def __init__(self, app: str, tag: str, args, env, key: str, people: list[str], pg_pid: int):
        self.app, self.tag, self.args, self.env = app, tag, args, env
        self.key, self.people, self.pg_pid = key, people, pg_pid
        self.proc: subprocess.Popen | None = None
        self.count = 0

    def start(self) -> None:
        self.port = free_port()
        a = self.args
        self.proc, self.name = start_server(self.port, a.workers, a.threads, self.env, self.app)
        # Warm every worker (and its database connection) first.
        self.drive(SETTLE, 3, 0, conns=2 * a.workers * max(1, a.threads))

    def drive(self, path: str, seconds: float, rate: float, conns: int = 0) -> Run:
        assert self.proc is not None
        self.count += 1
        a = self.args
        return drive(
            self.port,
            self.key,
            self.people,
            a.clients,
            conns or a.conns,
            seconds,
            path,
            f"{self.tag}{self.count}-",
            (self.proc.pid, self.pg_pid),
            rate,
        )

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def alternate(servers: list[Server], path: str, seconds: float, rate: float) -> list[Run]:
    """Drive the servers in turns of SLICE seconds, `seconds` each in all: a load on the machine
    that comes and goes falls on each alike."""
    turns = max(1, round(seconds / SLICE))
    runs: list[list[Run]] = [[] for _ in servers]
    for _ in range(turns):
        for srv, mine in zip(servers, runs, strict=True):
            mine.append(srv.drive(path, seconds / turns, rate))
    return [Run.merge(r) for r in runs]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--clients", type=int, default=2, help="client processes")
    ap.add_argument("--conns", type=int, default=4, help="connections per client process")
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--people", type=int, default=2000)
    ap.add_argument(
        "--threads",
        type=int,
        default=2,
        help="threads per worker (gthread workers, keep-alive; 0: sync workers)",
    )
    ap.add_argument(
        "--rate", type=float, default=500, help="settlements per second offered in the paced run"
    )
    ap.add_argument(
        "--peer-seconds", type=float, default=5, help="how long each peer is driven (0: none)"
    )
    args = ap.parse_args()

    from tests.pgserver import PostgresServer

    pg = PostgresServer().start()
    home = tempfile.mkdtemp(prefix="fangpin-bench-")
    env = {
        **os.environ,
        "FANGPIN_DATABASE_URL": pg.url("fangpin"),
        "FANGPIN_HOME": home,
        "FANGPIN_POLICY": POLICY,
        "DJANGO_SETTINGS_MODULE": "fangpin.site.settings",
        "NUMBA_NUM_THREADS": "1",
        "POLARS_MAX_THREADS": "1",
        "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
    }
    os.environ.update(
        {k: env[k] for k in ("FANGPIN_DATABASE_URL", "FANGPIN_HOME", "FANGPIN_POLICY")}
    )
    try:
        _create_db(pg)
        key, people = prepare(args.people)
        pg_pid = int((pg.data / "postmaster.pid").read_text().split()[0])

        servers = [Server(APP, "L", args, env, key, people, pg_pid)]
        peer = min(args.seconds, args.peer_seconds)
        if peer:
            servers.append(Server(DJANGO_APP, "D", args, env, key, people, pg_pid))
        try:
            for srv in servers:
                srv.start()
            fast = alternate(servers, SETTLE, args.seconds, 0)
            paced = alternate(servers, SETTLE, args.seconds, args.rate)
            health = servers[0].drive("/healthz", peer or 1, 0)
        finally:
            for srv in servers:
                srv.stop()
        e_rate = engine_peer(min(fast[0].n, 5000))
        print(
            f"server: {servers[0].name}; PostgreSQL {pg.bindir.parent.name}; "
            f"{os.cpu_count()} cores; {args.clients} client processes x {args.conns} connections; "
            f"{args.people} people; pack {POLICY}; load average {os.getloadavg()[0]:.1f}"
        )
        print(f"online settlements, as fast as answered: {fast[0]}")
        print(f"online settlements at {args.rate:.0f}/s offered: {paced[0]}")
        print(
            f"peer GET /healthz (same server, one SELECT 1 through Django), as fast as answered: "
            f"{health}; settlement/healthz = {fast[0].rate / health.rate:.2f}"
        )
        if peer:
            print(
                f"peer: the same site with every call through Django ({DJANGO_APP}), driven in "
                f"turns with it ({SLICE:.0f} s each):"
            )
            print(
                f"  as fast as answered: {fast[1]}; lean/Django = {fast[0].rate / fast[1].rate:.2f}"
            )
            print(f"  at {args.rate:.0f}/s offered: {paced[1]}")
        print(
            f"peer engine settle_one in-process, one thread: {e_rate:.0f}/s; "
            f"online/engine = {fast[0].rate / e_rate:.3f}"
        )
        # On schedule, the paced run answers what was offered (to rounding of its last turn).
        met = args.rate >= 500 and paced[0].rate >= 0.99 * 500 and paced[0].p99 <= 50
        print(
            f"target: 500/s sustained with p99 <= 50 ms (the run at {args.rate:.0f}/s offered): "
            f"{'met' if met else 'not met'}"
        )
    finally:
        pg.stop()
        shutil.rmtree(home, ignore_errors=True)


def _create_db(pg) -> None:
    import psycopg

    with psycopg.connect(pg.url("postgres"), autocommit=True) as c:
        c.execute("CREATE DATABASE fangpin")


if __name__ == "__main__":
    main()
