"""Online settlement throughput and latency over HTTP, on a throw-away PostgreSQL.

    python bench/online.py [--seconds 20] [--clients 6] [--workers 5] [--threads 1] [--people 2000]

Starts PostgreSQL (tests/pgserver.py), migrates, adds an institution with a key and people with
identities, runs the app under gunicorn (the `bench` extra; Django's threaded server when it is
missing) with sync workers, or gthread workers of `--threads` threads that keep connections
alive, warms every worker, then drives POST /api/v1/settlements from client processes for the
given time — each claim a new setl_id, spread over the people so settlements of one person meet
now and then (the two-statement path then falls back to the person-year's lock). Each client
keeps its connection open as a hospital system would, reconnecting when the server closes it.
Prints settlements/s with p50/p99 latency, and as peers the same server answering GET /healthz,
and `settle_one` in this process alone (the engine's share).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import multiprocessing as mp
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# One engine thread in every process here (set before numba loads): the server's workers and the
# client processes are the parallelism, and a one-claim kernel call gains nothing from a thread
# pool but its start-up cost.
os.environ["NUMBA_NUM_THREADS"] = "1"
os.environ["POLARS_MAX_THREADS"] = "1"
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
POLICY = "shanxi-linxian-2023"
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
    port: int, workers: int, threads: int, env: dict[str, str]
) -> tuple[subprocess.Popen, str]:
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or shutil.which(
        "gunicorn"
    )
    if gunicorn:
        cmd = [
            gunicorn,
            "fangpin.site.wsgi:application",
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
        if threads > 1:
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


def client(args: tuple) -> list[float]:
    """One client process: requests one after another until the deadline; latencies in ms.

    Like a hospital system it keeps its connection open between requests (HTTP/1.1 keep-alive)
    and opens a new one only when the server closed it (gunicorn's sync workers close every
    connection after its response)."""
    idx, port, key, people, start_at, seconds, path, prefix = args
    rng = random.Random(idx)
    while time.time() < start_at:
        time.sleep(0.001)
    lat, n = [], 0
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    end = start_at + seconds
    conn: http.client.HTTPConnection | None = None
    while n == 0 or time.time() < end:  # at least one request, however slow the server
        n += 1
        t = time.perf_counter()
        if conn is None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        if path == "/healthz":
            conn.request("GET", path)
        else:
            conn.request("POST", path, body(f"{prefix}{idx}-{n}", rng.choice(people), rng), headers)
        r = conn.getresponse()
        r.read()
        if r.will_close:
            conn.close()
            conn = None
        if r.status not in (200, 201):
            raise RuntimeError(f"HTTP {r.status} from {path}")
        lat.append((time.perf_counter() - t) * 1000)
    if conn is not None:
        conn.close()
    return lat


def drive(
    port: int, key: str, people: list[str], clients: int, seconds: float, path: str, prefix: str
) -> tuple[float, float, float, int]:
    start_at = time.time() + 0.5
    with mp.get_context("spawn").Pool(clients) as pool:
        parts = pool.map(
            client,
            [(i, port, key, people, start_at, seconds, path, prefix) for i in range(clients)],
        )
    lat = sorted(x for p in parts for x in p)
    n = len(lat)
    return n / seconds, lat[n // 2], lat[min(n - 1, int(n * 0.99))], n


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--workers", type=int, default=5)
    ap.add_argument("--people", type=int, default=2000)
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads per worker (>1: gthread workers, keep-alive)",
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
    proc = None
    try:
        _create_db(pg)
        key, people = prepare(args.people)
        port = free_port()
        proc, server = start_server(port, args.workers, args.threads, env)
        drive(
            port, key, people, args.clients * 2, 3, "/api/v1/settlements", "W"
        )  # warm every worker
        rate, p50, p99, n = drive(
            port, key, people, args.clients, args.seconds, "/api/v1/settlements", "S"
        )
        h_rate, h50, h99, _ = drive(
            port, key, people, args.clients, min(args.seconds, 5), "/healthz", "H"
        )
        e_rate = engine_peer(min(n, 5000))
        print(
            f"server: {server}; PostgreSQL {pg.bindir.parent.name}; {os.cpu_count()} cores; "
            f"{args.clients} client processes; {args.people} people; pack {POLICY}"
        )
        print(
            f"online settlements: {n} in {args.seconds:.0f} s = {rate:.0f}/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms"
        )
        print(
            f"peer GET /healthz (same server, one SELECT 1): {h_rate:.0f}/s, p50 {h50:.1f} ms, p99 {h99:.1f} ms; "
            f"settlement/healthz = {rate / h_rate:.2f}"
        )
        print(
            f"peer engine settle_one in-process, one thread: {e_rate:.0f}/s; online/engine = {rate / e_rate:.2f}"
        )
        print(
            f"target >= 500/s and p99 <= 50 ms: {'met' if rate >= 500 and p99 <= 50 else 'not met'}"
        )
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        pg.stop()
        shutil.rmtree(home, ignore_errors=True)


def _create_db(pg) -> None:
    import psycopg

    with psycopg.connect(pg.url("postgres"), autocommit=True) as c:
        c.execute("CREATE DATABASE fangpin")


if __name__ == "__main__":
    main()
