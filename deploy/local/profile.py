"""podium's production profile on one machine, on loopback: replicas behind nginx.

    python deploy/local/profile.py up --serve churn      # start everything, print the URL
    python deploy/local/profile.py status                # what runs where
    python deploy/local/profile.py down                  # stop everything

``up`` starts a supervisor in the background that runs, all on 127.0.0.1:

* nginx (Debian's package) on ``--port`` (default 8800): ``/v1/predictions`` and the
  Open Inference Protocol's ``/v2/models/.../infer`` go to the serving replicas, the rest
  to the API replicas; a request that meets a dead replica is retried on the other
  (predictions included: they change nothing);
* two ``podium up`` API replicas (REST, web UI; the first also runs the scheduler);
* two ``podium serve DEPLOYMENT`` replicas per ``--serve`` deployment;
* a moto S3 server for artifacts and the lake, and a local Ray head for compute
  (``--no-ray`` leaves Ray out);

on PostgreSQL (``--database-url``; the database is created if missing) and Redis (the
event bus that keeps the replicas in step, ``--redis-url``). A process that dies is
started again within a second. Every replica shares one PODIUM_HOME under ``--dir``
(default ``./.podium-profile``): the admin key printed by the first API replica is in
``DIR/home/credentials``, logs are in ``DIR/logs``, and ``DIR/state.json`` says which
process has which port and pid.

A serving replica of a deployment that does not exist yet fails and is restarted until
it does: create the deployment through the printed URL and the replicas come up.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BUCKET = "podium"
RESTART_DELAY = 0.5


@dataclass
class Child:
    """One supervised process: its role, the port it listens on and its command."""

    name: str
    port: int
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    pid: int = 0
    restarts: int = 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3):
            return True
    except OSError:
        return False


def _podium() -> str:
    found = Path(sys.executable).with_name("podium")
    return str(found) if found.exists() else (shutil.which("podium") or "podium")


def _ensure_database(url: str) -> str:
    """Create the PostgreSQL database of ``url`` when missing; return a SQLAlchemy URL."""
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/") or "podium_profile"
    admin = urlunsplit(("postgresql", parts.netloc, "/postgres", parts.query, ""))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(("postgresql+psycopg", parts.netloc, f"/{name}", parts.query, ""))


def _nginx_conf(directory: Path, port: int, api: list[int], serve: list[int]) -> Path:
    tmp = directory / "nginx"
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / sub).mkdir(parents=True, exist_ok=True)
    api_servers = "".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=1s;\n" for p in api)
    serve_servers = "".join(
        f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=1s;\n" for p in serve
    )
    if not serve:  # no serving replicas: predictions go to the API replicas
        serve_servers = api_servers
    # Predictions change nothing, so they are retried on the other replica like a GET;
    # every other POST/PUT/DELETE is tried once (nginx's default for non-idempotent).
    retry = "proxy_next_upstream error timeout http_502 http_503 http_504"
    text = f"""\
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {directory}/logs/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  client_max_body_size 2g;
  upstream podium_api {{
{api_servers}    keepalive 32;
  }}
  upstream podium_serve {{
{serve_servers}    keepalive 32;
  }}
  server {{
    listen 127.0.0.1:{port};
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $http_host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_connect_timeout 2s;
    proxy_read_timeout 120s;
    proxy_next_upstream_tries 4;
    {retry};
    location = /v1/predictions {{
      proxy_pass http://podium_serve;
      {retry} non_idempotent;
    }}
    location ~ ^/v2/models/[^/]+(/versions/[^/]+)?/infer$ {{
      proxy_pass http://podium_serve;
      {retry} non_idempotent;
    }}
    location / {{
      proxy_pass http://podium_api;
    }}
  }}
}}
"""
    conf = directory / "nginx.conf"
    conf.write_text(text)
    return conf


def _plan(args: argparse.Namespace, directory: Path) -> tuple[list[Child], dict[str, str]]:
    """Every process of the profile, and the environment the podium ones share."""
    moto_port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env |= {
        "PODIUM_HOME": str(directory / "home"),
        "PODIUM_DATABASE_URL": _ensure_database(args.database_url),
        "PODIUM_STORAGE_URL": f"s3://{BUCKET}/podium",
        "PODIUM_S3_ENDPOINT_URL": f"http://127.0.0.1:{moto_port}",
        "PODIUM_EVENTS_URL": args.redis_url,
        "PODIUM_PROJECT": args.project,
        "AWS_ACCESS_KEY_ID": "profile",
        "AWS_SECRET_ACCESS_KEY": "profile",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "RAY_USAGE_STATS_ENABLED": "0",
    }
    moto = Path(sys.executable).with_name("moto_server")
    children = [Child("s3", moto_port, [str(moto), "-H", "127.0.0.1", "-p", str(moto_port)])]
    if args.ray:
        ray_port = _free_port()
        env["PODIUM_RAY_ADDRESS"] = f"127.0.0.1:{ray_port}"
        ray = Path(sys.executable).with_name("ray")
        head = ["start", "--head", "--block", "--node-ip-address=127.0.0.1"]
        head += [f"--port={ray_port}", "--include-dashboard=false", "--disable-usage-stats"]
        children.append(Child("ray", ray_port, [str(ray), *head]))
    api_ports = [_free_port() for _ in range(args.replicas)]
    for i, port in enumerate(api_ports):
        cmd = [_podium(), "up", "--host", "127.0.0.1", "--port", str(port)]
        # One scheduler is enough; its leases would keep a second one idle anyway.
        scheduler = {"PODIUM_SCHEDULER": "on" if i == 0 else "off"}
        children.append(Child(f"api-{i + 1}", port, cmd, scheduler))
    serve_ports: list[int] = []
    for deployment in args.serve:
        for i in range(args.replicas):
            port = _free_port()
            serve_ports.append(port)
            cmd = [_podium(), "serve", deployment, "--host", "127.0.0.1", "--port", str(port)]
            children.append(Child(f"serve-{deployment}-{i + 1}", port, cmd))
    conf = _nginx_conf(directory, args.port, api_ports, serve_ports)
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    children.append(Child("nginx", args.port, [nginx, "-c", str(conf), "-p", str(directory)]))
    return children, env


class Supervisor:
    """Runs the children, starts again any that exits, and writes ``state.json``."""

    def __init__(self, directory: Path, children: list[Child], env: dict[str, str]) -> None:
        self.directory = directory
        self.children = children
        self.env = env
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.stopping = False

    def start(self, child: Child) -> None:
        log = open(self.directory / "logs" / f"{child.name}.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            child.command,
            env=self.env | child.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        self.procs[child.name] = proc
        child.pid = proc.pid
        self.write_state()

    def write_state(self) -> None:
        state = {
            "supervisor": os.getpid(),
            "url": f"http://127.0.0.1:{self.children[-1].port}",
            "children": [asdict(c) | {"env": {}} for c in self.children],
        }
        tmp = self.directory / "state.json.tmp"
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.directory / "state.json")

    def run(self) -> None:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        s3 = self.children[0]
        self.start(s3)
        _wait(lambda: _answers(s3.port), 30, "the S3 server")
        _create_bucket(self.env)
        for child in self.children[1:]:
            self.start(child)
        while not self.stopping:
            for child in self.children:
                proc = self.procs[child.name]
                if proc.poll() is not None and not self.stopping:
                    time.sleep(RESTART_DELAY)
                    child.restarts += 1
                    self.start(child)
            time.sleep(0.1)
        self._terminate()

    def _stop(self, *_: Any) -> None:
        self.stopping = True

    def _terminate(self) -> None:
        # nginx first, so nothing new arrives; then the replicas; storage last.
        for child in reversed(self.children):
            proc = self.procs.get(child.name)
            if proc and proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for proc in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
        (self.directory / "state.json").unlink(missing_ok=True)


def _create_bucket(env: dict[str, str]) -> None:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=env["PODIUM_S3_ENDPOINT_URL"],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_REGION"],
    )
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=BUCKET)


def _wait(ready: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.1)
    raise SystemExit(f"error: {what} did not start in {seconds:.0f} s (see the logs folder)")


def _state(directory: Path) -> dict[str, Any] | None:
    path = directory / "state.json"
    if not path.exists():
        return None
    state: dict[str, Any] = json.loads(path.read_text())
    try:
        os.kill(state["supervisor"], 0)
    except ProcessLookupError:
        return None
    return state


def _healthy(url: str) -> bool:
    import httpx

    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def up(args: argparse.Namespace) -> int:
    directory = Path(args.dir).resolve()
    if _state(directory):
        print(f"error: the profile already runs in {directory}; hint: `profile.py down` first")
        return 1
    if _answers(args.port):
        print(f"error: port {args.port} is taken; hint: pass --port")
        return 1
    (directory / "logs").mkdir(parents=True, exist_ok=True)
    (directory / "home").mkdir(parents=True, exist_ok=True)
    children, env = _plan(args, directory)
    # The supervisor is this script again, detached: it outlives this command.
    spec = directory / "plan.json"
    spec.write_text(json.dumps({"children": [asdict(c) for c in children], "env": env}))
    spec.chmod(0o600)
    subprocess.Popen(
        [sys.executable, __file__, "_supervise", "--dir", str(directory)],
        start_new_session=True,
        stdin=subprocess.DEVNULL,
        stdout=open(directory / "logs" / "supervisor.log", "ab"),  # noqa: SIM115
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{args.port}"
    _wait(lambda: _healthy(url), args.timeout, "the API behind nginx")
    print(f"podium profile up at {url} (state: {directory / 'state.json'})")
    credentials = directory / "home" / "credentials"
    if credentials.exists():
        print(f"admin key: in {credentials}")
    return 0


def supervise(args: argparse.Namespace) -> int:
    directory = Path(args.dir).resolve()
    plan = json.loads((directory / "plan.json").read_text())
    (directory / "plan.json").unlink()
    children = [Child(**c) for c in plan["children"]]
    Supervisor(directory, children, plan["env"]).run()
    return 0


def down(args: argparse.Namespace) -> int:
    directory = Path(args.dir).resolve()
    state = _state(directory)
    if state is None:
        print(f"nothing runs in {directory}")
        return 0
    os.kill(state["supervisor"], signal.SIGTERM)
    _wait(lambda: _state(directory) is None, 30, "the stop")
    print("podium profile down")
    return 0


def status(args: argparse.Namespace) -> int:
    state = _state(Path(args.dir).resolve())
    if state is None:
        print("not running")
        return 1
    print(f"url: {state['url']}")
    for child in state["children"]:
        alive = _answers(child["port"])
        print(f"{child['name']:<22} port {child['port']:<6} pid {child['pid']:<8} "
              f"restarts {child['restarts']:<3} {'up' if alive else 'DOWN'}")  # fmt: skip
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up", help="start the profile in the background")
    p_up.add_argument("--port", type=int, default=8800, help="nginx's port (default 8800)")
    p_up.add_argument("--serve", action="append", default=[], help="a deployment to serve")
    p_up.add_argument("--replicas", type=int, default=2, help="replicas of each (default 2)")
    p_up.add_argument(
        "--database-url", default="postgresql://postgres@127.0.0.1:5432/podium_profile"
    )
    p_up.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    p_up.add_argument("--project", default="default")
    p_up.add_argument("--no-ray", dest="ray", action="store_false", help="leave Ray out")
    p_up.add_argument("--timeout", type=float, default=120.0)
    for name, fn in (("up", up), ("down", down), ("status", status), ("_supervise", supervise)):
        p = p_up if name == "up" else sub.add_parser(name)
        p.add_argument("--dir", default=".podium-profile", help="state, logs and PODIUM_HOME")
        p.set_defaults(fn=fn)
    args = parser.parse_args(argv)
    code: int = args.fn(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
