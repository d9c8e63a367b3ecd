"""The cluster's hosts: network namespaces joined by a bridge, and the processes in them.

Every namespace is named `nxc-<host>`; together they hold one private /24 (SUBNET) that exists
nowhere else: no namespace has a default route and the root namespace gets no address in it, so
traffic can only go between these hosts (and each host's own loopback). A switch namespace
holds the bridge; each host has one veth pair, `eth0` inside the host, its peer on the bridge.

Processes are started with `ip netns exec`, which execs (the pid is the program's), each in a
session of its own, so a host is stopped by its process group: SIGTERM for a graceful stop,
SIGKILL for a crash. Everything made here is undone by `down()`, whatever happened.
"""
from __future__ import annotations

import ctypes
import glob
import os
import pwd
import shutil
import signal
import subprocess
import time
from pathlib import Path

from tests.helpers import ROOT

PREFIX = "nxc-"
SUBNET = "10.218.51"  # /24, only inside these namespaces
HOSTS = {"lb": 10, "app1": 11, "app2": 12, "app3": 13, "db": 20, "client": 100}
SWITCH = PREFIX + "sw"
APP_PORT = 8000
PG_PORT = 5432
CLONE_NEWNET = 0x40000000


def addr(host: str) -> str:
    return f"{SUBNET}.{HOSTS[host]}"


def ns(host: str) -> str:
    return PREFIX + host


def run(*args: str, timeout: float = 60, check: bool = True, **kwargs) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                         check=False, **kwargs)
    if check and out.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {out.returncode}: {out.stderr.strip() or out.stdout.strip()}")
    return out


def our_namespaces() -> list[str]:
    listed = run("ip", "netns", "list").stdout.split("\n")
    return [line.split()[0] for line in listed if line.startswith(PREFIX)]


class Network:
    """The namespaces, the bridge and the veth pairs."""

    def __init__(self) -> None:
        self.made: list[str] = []

    def up(self) -> None:
        for leftover in our_namespaces():  # a run that was itself killed (SIGKILL) left them
            print(f"cluster: removing the namespace {leftover} a killed run left behind", flush=True)
            run("ip", "netns", "del", leftover, check=False)
        self._add(SWITCH)
        run("ip", "-n", SWITCH, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", SWITCH, "link", "set", "br0", "up")
        for host in HOSTS:
            name = ns(host)
            self._add(name)
            run("ip", "link", "add", "eth0", "netns", name, "type", "veth", "peer", "name", f"v-{host}",
                "netns", SWITCH)
            run("ip", "-n", SWITCH, "link", "set", f"v-{host}", "master", "br0")
            run("ip", "-n", SWITCH, "link", "set", f"v-{host}", "up")
            run("ip", "-n", name, "addr", "add", f"{addr(host)}/24", "dev", "eth0")
            run("ip", "-n", name, "link", "set", "eth0", "up")

    def _add(self, name: str) -> None:
        run("ip", "netns", "add", name)
        self.made.append(name)
        run("ip", "-n", name, "link", "set", "lo", "up")

    def link(self, host: str, up: bool) -> None:
        """Unplug a host's cable (its veth down: packets to and from it are dropped) or plug it in."""
        run("ip", "-n", ns(host), "link", "set", "eth0", "up" if up else "down")

    def down(self) -> None:
        for name in reversed(self.made):
            run("ip", "netns", "del", name, check=False)
        self.made.clear()


def enter(host: str) -> None:
    """Move this process (its one thread: call before starting any) into a host's namespace:
    every socket it opens afterwards, and every program it starts, is in there."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(f"/var/run/netns/{ns(host)}", os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into {ns(host)}")
    finally:
        os.close(fd)


class Proc:
    """A program in a host's namespace, its output in a log file."""

    def __init__(self, host: str, argv: list[str], log: Path, *, env: dict[str, str] | None = None,
                 cwd: Path = ROOT) -> None:
        self.host, self.log = host, log
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            out.write(f"\n--- {time.strftime('%H:%M:%S')} start: {' '.join(argv)}\n".encode())
            out.flush()
            self.popen = subprocess.Popen(["ip", "netns", "exec", ns(host), *argv], stdout=out,
                                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                          cwd=cwd, start_new_session=True)
        self.pid = self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def send(self, sig: int, group: bool = True) -> None:
        try:
            os.killpg(self.pid, sig) if group else os.kill(self.pid, sig)
        except ProcessLookupError:
            pass

    def wait(self, timeout: float) -> int | None:
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 25.0, group: bool = False) -> None:
        """`sig` (to the leader: gunicorn's arbiter and postgres pass it on), then SIGKILL to the
        whole group after `timeout`. Its group is killed at the end either way (strays)."""
        if self.alive():
            self.send(sig, group=group)
            if self.wait(timeout) is None:
                self.send(signal.SIGKILL)
                self.wait(10)
        self.send(signal.SIGKILL)  # anything left in its session (a worker still exiting)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"), key=lambda p: int(p.split("/")[4]))
    if not found:
        raise RuntimeError("no PostgreSQL server under /usr/lib/postgresql/*/bin (tests/cluster/install.sh)")
    return Path(found[-1]).parent


def as_postgres(*argv: str) -> list[str]:
    """PostgreSQL refuses to run as root: the postgres user runs it (setpriv execs, no fork)."""
    return ["setpriv", "--reuid=postgres", "--regid=postgres", "--clear-groups", "--", *argv]


class Postgres:
    """A PostgreSQL server in the `db` host, its data in a temporary folder."""

    USER, PASSWORD, DB = "board", "board-cluster-pw", "board"

    def __init__(self, tmp: Path) -> None:
        self.bin = pg_bin()
        self.dir = tmp / "pg"
        self.data, self.sock, self.log = self.dir / "data", self.dir / "sock", tmp / "logs" / "postgres.log"
        self.proc: Proc | None = None

    @property
    def url(self) -> str:
        return f"postgresql://{self.USER}:{self.PASSWORD}@{addr('db')}:{PG_PORT}/{self.DB}"

    def init(self) -> None:
        user = pwd.getpwnam("postgres")
        self.sock.mkdir(parents=True)
        for path in (self.dir, self.sock):
            os.chown(path, user.pw_uid, user.pw_gid)
        pwfile = self.dir / "pw"
        pwfile.write_text("postgres-cluster-pw\n")
        os.chown(pwfile, user.pw_uid, user.pw_gid)
        run(*as_postgres(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-E", "UTF8",
                         "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}", "--no-sync"),
            timeout=120)
        with open(self.data / "pg_hba.conf", "a") as hba:  # the app hosts, and the client for checks
            hba.write(f"host {self.DB} {self.USER} {SUBNET}.0/24 scram-sha-256\n")

    def start(self) -> None:
        self.proc = Proc("db", as_postgres(
            str(self.bin / "postgres"), "-D", str(self.data),
            "-c", f"listen_addresses={addr('db')}", "-c", f"port={PG_PORT}",
            "-c", f"unix_socket_directories={self.sock}", "-c", "max_connections=120",
            "-c", "shared_buffers=64MB", "-c", "logging_collector=off", "-c", "log_min_messages=warning",
            "-c", "log_line_prefix=%m [%p] "), self.log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if not self.proc.alive():
                raise RuntimeError(f"postgres exited {self.proc.popen.returncode}:\n{self.proc.tail()}")
            if run(str(self.bin / "pg_isready"), "-q", "-h", str(self.sock), "-p", str(PG_PORT), "-U", "postgres",
                   check=False).returncode == 0:
                return
            time.sleep(0.1)
        raise RuntimeError(f"postgres did not start within 30 s:\n{self.proc.tail()}")

    def psql(self, sql: str) -> str:
        return run(str(self.bin / "psql"), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", str(self.sock),
                   "-p", str(PG_PORT), "-U", "postgres", "-d", "postgres", "-c", sql).stdout

    def create_database(self) -> None:
        self.psql(f"CREATE ROLE {self.USER} LOGIN PASSWORD '{self.PASSWORD}'")
        self.psql(f"CREATE DATABASE {self.DB} OWNER {self.USER}")

    def stop(self, timeout: float = 20.0) -> None:
        """Fast shutdown (SIGINT to the postmaster): sessions are ended, every commit is kept."""
        if self.proc is not None:
            self.proc.stop(signal.SIGINT, timeout=timeout)


class AppHost:
    """`nextapi start samples/board` (gunicorn, deploy/gunicorn.conf.py) in an app host."""

    def __init__(self, host: str, python: str, env: dict[str, str], log: Path, workers: int = 2) -> None:
        self.host, self.python, self.env, self.log, self.workers = host, python, env, log, workers
        self.proc: Proc | None = None

    def start(self) -> None:
        self.proc = Proc(self.host, [self.python, "-m", "nextapi", "start", "samples/board", "--host", addr(self.host),
                                     "--port", str(APP_PORT), "--workers", str(self.workers)],
                         self.log, env=self.env)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.alive()

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None:
            self.proc.stop(sig, timeout=25.0, group=sig == signal.SIGKILL)


class Nginx:
    """nginx in the `lb` host, serving deploy/nginx.conf with the cluster's upstreams."""

    def __init__(self, tmp: Path) -> None:
        self.dir = tmp / "nginx"
        self.logs = tmp / "logs"
        self.site = self.dir / "board.conf"
        self.main = self.dir / "nginx.conf"
        self.access_log = self.logs / "board.access.log"
        self.proc: Proc | None = None

    def configure(self, apps: list[str], down: tuple[str, ...] = ()) -> None:
        """deploy/nginx.conf as it is, but for its upstream servers (those in `down` marked so:
        nginx sends them nothing), listen address and log paths."""
        text = (ROOT / "deploy" / "nginx.conf").read_text()
        lines = text.splitlines(keepends=True)
        servers = [i for i, line in enumerate(lines) if line.strip().startswith("server 10.0.0.")]
        assert len(servers) == 3, "deploy/nginx.conf: expected three upstream `server 10.0.0.1x:8000` lines"
        params = lines[servers[0]].strip().split(None, 2)[2]  # max_fails=1 fail_timeout=5s;
        ours = "".join(f"    server {addr(app)}:{APP_PORT} {params[:-1] + ' down;' if app in down else params}\n"
                       for app in apps)
        lines[servers[0]:servers[-1] + 1] = [ours]
        text = "".join(lines)
        assert text.count("listen 80;") == 1 and text.count("/var/log/nginx/") == 2
        text = text.replace("listen 80;", f"listen {addr('lb')}:80;").replace("/var/log/nginx/", f"{self.logs}/")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.site.write_text(text)
        temp = self.dir / "temp"
        self.main.write_text(f"""# made by tests/cluster: the main context around deploy/nginx.conf
worker_processes 1;
pid {self.dir}/nginx.pid;
error_log {self.logs}/nginx.error.log warn;
events {{ worker_connections 1024; }}
http {{
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {self.site};
}}
""")
        temp.mkdir(exist_ok=True)
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        run("ip", "netns", "exec", ns("lb"), nginx, "-t", "-q", "-c", str(self.main), "-p", str(self.dir))

    def start(self) -> None:
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = Proc("lb", [nginx, "-c", str(self.main), "-p", str(self.dir), "-g", "daemon off;"],
                         self.logs / "nginx.out")

    def reload(self) -> None:
        """SIGHUP: the new configuration in new workers; the old ones finish what they have."""
        assert self.proc is not None and self.proc.alive(), "nginx is not running"
        self.proc.send(signal.SIGHUP, group=False)
        time.sleep(1.5)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop(signal.SIGQUIT, timeout=10.0)  # graceful: open requests are finished
