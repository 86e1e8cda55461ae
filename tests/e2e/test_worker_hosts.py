"""Three worker hosts on one PostgreSQL and one shared output folder, as separate machines.

Each host is a network + UTS namespace (``tests/e2e/hosts.py``) with its own hostname, home and uv
cache, running the real ``casparian worker`` CLI: real worker processes, real guests running a
registered parser whose environment is built offline from a shared wheelhouse, real Parquet parts.
They reach the test's own PostgreSQL cluster over a bridge; nothing leaves the machine. Leases are
short (``LEASE_S``) so a dead or cut-off host's jobs come back quickly. Every test removes its
namespaces and links when it ends, failed or not.
"""

from __future__ import annotations

import json
import os
import re
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from casparian_engine.cli.main import app
from casparian_engine.contracts import SchemaContract
from casparian_engine.store import Store
from casparian_engine.workspace import Workspace
from tests.engine.registration_support import make_parser
from tests.pg_cluster import PgCluster, drop_database, fresh_database

from .hosts import Bridge, Host, namespaces_supported

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.xdist_group("worker-hosts")]

LEASE_S = 4.0
HEARTBEAT_S = 1.0
WAIT_LIMIT_S = 120.0
SLOW_PARSE = 'import time\nif "slow" in str(path):\n    time.sleep(3)'
SETTINGS = {
    "CASPARIAN_LEASE_TIMEOUT_S": str(LEASE_S),
    "CASPARIAN_HEARTBEAT_INTERVAL_S": str(HEARTBEAT_S),
    "CASPARIAN_RETRY_BACKOFF_S": "0",
}


def wait_until(condition: Callable[[], object], what: str) -> None:
    """Poll for the work a test waits on, failing after a generous limit."""
    deadline = time.monotonic() + WAIT_LIMIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def network() -> Iterator[tuple[Bridge, PgCluster]]:
    """A bridge for the hosts, and a PostgreSQL cluster listening on it and on 127.0.0.1."""
    why_not = namespaces_supported()
    if why_not:
        pytest.skip(why_not)
    bridge = Bridge()
    scratch = Path(tempfile.mkdtemp(prefix="casparian-hosts-pg-"))  # the postgres user's to use
    scratch.chmod(0o755)
    cluster = PgCluster(
        scratch / "data",
        listen=f"127.0.0.1,{bridge.gateway}",
        settings={"fsync": "off", "max_connections": "200"},
        hba=(f"host all all {bridge.subnet} trust",),
    )
    try:
        bridge.up()
        cluster.start()
        yield bridge, cluster
    finally:
        cluster.stop()
        scratch.rmdir()
        bridge.remove()


class Fleet:
    """The hosts of one test, the shared folders, and the store as the test sees it."""

    def __init__(self, bridge: Bridge, cluster: PgCluster, root: Path, database: str) -> None:
        self.bridge = bridge
        self.root = root
        self.store_url = cluster.url(database=database)
        self.host_store_url = cluster.url(bridge.gateway, database)
        self.output = root / "shared" / "output"
        self.wheelhouse = root / "shared" / "wheelhouse"
        self.inputs = root / "shared" / "inputs"
        self.control_home = root / "control"
        self.hosts = [
            Host(bridge, index, f"host-{name}", root / f"host-{name}")
            for index, name in enumerate("abc", start=1)
        ]

    def env(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("CASPARIAN_")}
        return {**base, **SETTINGS}

    def prepare(self, files: int, slow: int = 0, queue: bool = True) -> list[int]:
        """Register the parser (contract approved), vendor it to the shared wheelhouse, write
        ``files`` inputs (``slow`` of them parse slowly) and scan them; queue them unless told
        not to (``queue``); the job ids."""
        folder = make_parser(self.root / "parser", body=SLOW_PARSE)
        self.output.mkdir(parents=True)
        for index in range(files):
            name = f"slow-{index:05d}" if index < slow else f"f-{index:05d}"
            path = self.inputs / "invoices" / f"d{index % 10}" / f"{name}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"id,amount\n{2 * index},{index}.5\n{2 * index + 1},{index}.25\n")
        os.environ["CASPARIAN_STORE_URL"] = self.store_url
        os.environ["CASPARIAN_WHEELHOUSE"] = str(self.wheelhouse)
        try:
            with Workspace.open(self.control_home) as workspace:
                contract = folder / "invoices.contract.yaml"
                workspace.contracts.approve(SchemaContract.from_yaml(contract.read_text()))
                workspace.parsers.register(folder)
                workspace.parsers.vendor("invoices")
                workspace.files.scan(self.inputs)
        finally:
            del os.environ["CASPARIAN_STORE_URL"], os.environ["CASPARIAN_WHEELHOUSE"]
        return self.queue(files) if queue else []

    def queue(self, files: int) -> list[int]:
        """Queue the scanned inputs as a user would (`casparian process --queue-only`)."""
        result = CliRunner().invoke(
            app,
            ["--home", str(self.control_home), "process", "--queue-only"],
            env={"CASPARIAN_STORE_URL": self.store_url},
        )
        assert result.output == f"invoices 1.0.0: {files:,} of {files:,} matched files queued\n"
        with closing(Store(self.store_url)) as store:
            jobs = store.jobs.find(parser_name="invoices", limit=files + 1)
        assert len(jobs) == files
        return sorted(job.id for job in jobs)

    def start(self, host: Host, workers: int = 2, batch: int = 32) -> None:
        host.start_worker(
            [
                "--store", self.host_store_url, "--output", str(self.output),
                "--wheelhouse", str(self.wheelhouse), "--workers", str(workers),
                "--batch", str(batch),
            ],
            self.env(),
        )  # fmt: skip

    def stop(self, host: Host) -> None:
        """SIGTERM a host's worker command and wait for it to end."""
        assert host.process is not None
        host.process.send_signal(signal.SIGTERM)
        assert host.process.wait(WAIT_LIMIT_S) == 0, host.stderr()

    def parts(self) -> list[Path]:
        folder = self.output / "invoices" / "invoices"
        return sorted(folder.glob("part-*.parquet")) if folder.is_dir() else []

    def staged(self) -> list[Path]:
        return sorted(self.output.glob("*/*/.part-*"))

    def rows(self) -> tuple[int, int, int]:
        """Rows in the published parts, distinct (source, row) pairs, distinct sources."""
        if not self.parts():
            return 0, 0, 0
        glob = self.output / "invoices" / "invoices" / "part-*.parquet"
        with duckdb.connect() as con:  # its own connection: the module's default one is shared
            found = con.execute(
                "SELECT count(*), count(DISTINCT (_cf_source_hash, _cf_row)), "
                f"count(DISTINCT _cf_source_hash) FROM read_parquet('{glob}')"
            ).fetchone()
        assert found is not None
        return int(found[0]), int(found[1]), int(found[2])


@pytest.fixture
def fleet(network: tuple[Bridge, PgCluster], tmp_path: Path) -> Iterator[Fleet]:
    bridge, cluster = network
    database = f"hosts_{tmp_path.name[-20:].replace('-', '_').lower()}"
    fresh_database(cluster.url(), database)
    made = Fleet(bridge, cluster, tmp_path, database)
    try:
        for host in made.hosts:
            host.create()
        yield made
    finally:
        for host in made.hosts:
            host.remove()
        drop_database(cluster.url(), database)


def _running_on(store: Store, hostname: str) -> list[int]:
    return [
        job.id
        for job in store.jobs.find(status="running", limit=10_000)
        if (job.worker_id or "").startswith(f"{hostname}:")
    ]


def test_three_hosts_share_the_queue_and_a_killed_host_is_finished_by_the_others(
    fleet: Fleet,
) -> None:
    files = 3000
    fleet.prepare(files, queue=False)
    a, b, c = fleet.hosts
    for host in fleet.hosts:
        fleet.start(host)
    with closing(Store(fleet.store_url)) as store:
        # every host's two workers wait on the empty queue; then the work arrives for all at once
        wait_until(lambda: len(store.workers.live(LEASE_S)) == 6, "every host's workers")
        job_ids = fleet.queue(files)
        listed = CliRunner().invoke(
            app,
            ["--home", str(fleet.control_home), "workers", "--store", fleet.store_url, "--json"],
        )
        assert listed.exit_code == 0, listed.output
        assert {w["host"] for w in json.loads(listed.output)} == {"host-a", "host-b", "host-c"}
        # a machine dies mid-run, every process of it at once: frozen first, so the jobs it holds
        # are known (a frozen host commits nothing), then killed
        orphaned: list[int] = []
        while not orphaned:
            wait_until(
                lambda: _running_on(store, c.hostname) or not store.jobs.counts()["queued"],
                "host-c to hold jobs",
            )
            assert store.jobs.counts()["queued"], (
                f"the others drained the queue before host-c held a job: "
                f"{[(j.id, j.worker_id) for j in store.jobs.find(limit=3)]}; "
                f"host-c said: {c.stderr()[-2000:]}"
            )
            c.signal_all(signal.SIGSTOP)
            orphaned = _running_on(store, c.hostname)
            if not orphaned:  # it was between two claims: let it claim again
                c.signal_all(signal.SIGCONT)
        killed = c.signal_all(signal.SIGKILL)
        assert len(killed) >= 3  # its worker command, its workers and their guests
        wait_until(lambda: store.jobs.counts()["completed"] == files, "the others to finish")
        jobs = {job.id: job for job in store.jobs.find(parser_name="invoices", limit=files + 1)}
    for host in (a, b):
        fleet.stop(host)
    assert sorted(jobs) == job_ids and {job.status for job in jobs.values()} == {"completed"}
    assert orphaned  # host-c held jobs when it died; others took them after its leases expired
    for job_id in orphaned:
        assert (jobs[job_id].worker_id or "").split(":")[0] in (a.hostname, b.hostname)
    # 0 lost, 0 duplicated: every file's rows once, as many as the jobs say they wrote
    rows, distinct, sources = fleet.rows()
    assert rows == distinct == sum(job.rows_written for job in jobs.values()) == 2 * files
    assert sources == files
    # nothing host-c half-wrote is visible or left: each part is a committed lease's
    assert fleet.staged() == []
    committed_tokens = {job.lease_token for job in jobs.values()}
    for part in fleet.parts():
        token = re.fullmatch(r"part-([0-9a-f]+)-\d+\.parquet", part.name)
        assert token is not None and token.group(1) in committed_tokens


def _fenced_host_never_publishes(
    fleet: Fleet, cut_off: Callable[[Host], None], resume: Callable[[Host], None]
) -> None:
    """Host A takes the one (slow) job; A is cut off mid-job; host B finishes the job once A's
    lease expired; A comes back: its result is refused, none of its rows are ever published."""
    (job_id,) = fleet.prepare(1, slow=1)
    a, b, _c = fleet.hosts
    fleet.start(a, workers=1)
    with closing(Store(fleet.store_url)) as store:
        wait_until(lambda: _running_on(store, a.hostname) == [job_id], "host-a to take the job")
        held = store.jobs.get(job_id)
        assert held is not None and held.lease_token
        cut_off(a)
        fleet.start(b, workers=1)
        wait_until(
            lambda: (done := store.jobs.get(job_id)) is not None and done.status == "completed",
            "host-b to finish the job",
        )
        done = store.jobs.get(job_id)
        assert done is not None and (done.worker_id or "").startswith("host-b:")
        assert done.lease_token != held.lease_token
        resume(a)
        wait_until(
            lambda: f"lease {held.lease_token} lost for" in a.stderr(), "host-a to see its fence"
        )
        fleet.stop(a)
        fleet.stop(b)
        after = store.jobs.get(job_id)
    assert (
        after is not None and after.status == "completed" and after.lease_token == done.lease_token
    )
    assert re.search(
        rf"lease {held.lease_token} lost for (job {job_id}|1 job\(s\) \[{job_id}\])", a.stderr()
    )
    # the job's output is host-b's alone; nothing of host-a's lease was published or left staged
    assert [p.name.split("-")[1] for p in fleet.parts()] == [done.lease_token]
    assert fleet.rows() == (2, 2, 1)
    assert not list(fleet.output.rglob(f"*{held.lease_token}*"))


def test_a_paused_host_past_its_lease_cannot_commit(fleet: Fleet) -> None:
    _fenced_host_never_publishes(
        fleet,
        cut_off=lambda host: host.signal_all(signal.SIGSTOP) and None,
        resume=lambda host: host.signal_all(signal.SIGCONT) and None,
    )


def test_a_host_cut_from_postgresql_mid_job_cannot_commit(fleet: Fleet) -> None:
    _fenced_host_never_publishes(
        fleet, cut_off=lambda host: host.link("down"), resume=lambda host: host.link("up")
    )
