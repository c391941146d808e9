"""Serving benchmark: podium serve vs BentoML vs a bare Starlette app, same model, wrk.

One scikit-learn churn model (LogisticRegression on 10 numeric features) is served by:

- ``podium``: ``podium serve`` on the embedded default, with authentication, input
  validation, the inference log (parked in the spool, as every replica's is) and metrics
  all on (the response cache off, so every request runs the model);
- ``podium-fast``: the same, with dynamic batching and the model's ONNX version;
- ``bentoml``: bentoml==1.4.40 in a throwaway venv, a service file with the same model;
- ``bare``: a bare Starlette app calling ``predict_proba`` (the ceiling of a Python app
  on this machine, with the same uvicorn).

wrk drives each with 1 and 32 connections for ``--seconds`` each, servers alternating.
Each server's resident memory (its process tree's VmRSS) is read mid-run. ``podium-oip``
is the ``podium`` server again, through the Open Inference Protocol over REST with binary
tensors (``POST /v2/models/churn/infer``, a ``[1, 10]`` FP64 tensor in, raw outputs back).
wrk speaks no gRPC, so a second table drives ``/v1/predictions``, OIP REST binary and OIP
gRPC (``--grpc-port``) of that same server with one asyncio client (aiohttp and
grpc.aio, requests pre-encoded, the same concurrency): the protocols compared on equal
terms. Run:
``python benchmarks/serving.py`` (``--seconds 2`` for a quick look).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import re
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _anchor_venv import AnchorVenvError, anchor_python, default_venv_dir
from _machine import machine_info
from sklearn.linear_model import LogisticRegression

BENTOML = "bentoml==1.4.40"
FEATURES = [f"f{i}" for i in range(10)]
ROW = {name: round(0.1 * i + 0.5, 3) for i, name in enumerate(FEATURES)}
VENV_BIN = Path(sys.executable).parent

BARE_APP = """
import json, pickle, numpy as np
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
MODEL = pickle.load(open({model!r}, "rb"))
NAMES = {names!r}
async def predict(request):
    body = json.loads(await request.body())
    row = body["features"]
    x = np.array([[float(row[n]) for n in NAMES]])
    p = MODEL.predict_proba(x)[0]
    return Response(json.dumps({{"prediction": int(p.argmax()), "probability": float(p[1])}}),
                    media_type="application/json")
app = Starlette(routes=[Route("/v1/predictions", predict, methods=["POST"])])
"""

BENTO_SERVICE = """
import pickle, numpy as np, bentoml
NAMES = {names!r}
@bentoml.service(workers=1)
class Churn:
    def __init__(self):
        self.model = pickle.load(open({model!r}, "rb"))
    @bentoml.api
    def predict(self, features: dict) -> dict:
        x = np.array([[float(features[n]) for n in NAMES]])
        p = self.model.predict_proba(x)[0]
        return {{"prediction": int(p.argmax()), "probability": float(p[1])}}
"""

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = {body!r}
wrk.headers["Content-Type"] = "application/json"
{auth}
"""

WRK_BINARY = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/octet-stream"
wrk.headers["Inference-Header-Content-Length"] = "{header_length}"
{auth}
"""


def oip_binary_body() -> tuple[bytes, int]:
    """The OIP REST request of ``ROW`` with binary tensors: (body, JSON header length)."""
    raw = np.array([[ROW[name] for name in FEATURES]], dtype="<f8").tobytes()
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "input-0",
                    "shape": [1, len(FEATURES)],
                    "datatype": "FP64",
                    "parameters": {"binary_data_size": len(raw)},
                }
            ],
            "parameters": {"binary_data_output": True},
        }
    ).encode()
    return header + raw, len(header)


def oip_grpc_request() -> bytes:
    """The OIP gRPC ``ModelInferRequest`` of ``ROW``, serialized (raw_input_contents)."""
    from podium.serving.grpc import grpc_predict_v2_pb2 as pb

    raw = np.array([[ROW[name] for name in FEATURES]], dtype="<f8").tobytes()
    tensor = pb.ModelInferRequest.InferInputTensor(
        name="input-0", datatype="FP64", shape=[1, len(FEATURES)]
    )
    request = pb.ModelInferRequest(model_name="churn", inputs=[tensor], raw_input_contents=[raw])
    return bytes(request.SerializeToString())


def lua_bytes(data: bytes) -> str:
    """``data`` as a Lua string literal (decimal escapes: any byte, NUL included)."""
    return '"' + "".join(f"\\{b:03d}" for b in data) + '"'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server on {port} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server on {port} did not start")


def tree_rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its descendants, in MB."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        found = re.search(r"VmRSS:\s+(\d+) kB", status)
        total += int(found.group(1)) if found else 0
    return total / 1024


def wrk(url: str, script: Path, connections: int, seconds: int, pid: int) -> dict[str, float]:
    rss: list[float] = []

    def sample() -> None:
        time.sleep(seconds / 2)
        rss.append(tree_rss_mb(pid))

    sampler = threading.Thread(target=sample)
    sampler.start()
    threads = min(connections, 2)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    done = subprocess.run(
        [*command, "-s", str(script), url], capture_output=True, text=True, check=True
    )
    sampler.join()
    text = done.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    socket_errors = re.search(r"Socket errors: (.*)", text)
    return {
        "rps": rps,
        "p50_ms": _latency(text, "50%"),
        "p99_ms": _latency(text, "99%"),
        "non_2xx": float(errors.group(1)) if errors else 0.0,
        "socket_errors": 1.0 if socket_errors else 0.0,
        "rss_mb": rss[0] if rss else 0.0,
    }


def _latency(text: str, label: str) -> float:
    found = re.search(rf"{re.escape(label)}\s+([\d.]+)(us|ms|s)", text)
    if not found:
        return float("nan")
    value, unit = float(found.group(1)), found.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def train(tmp: Path) -> tuple[LogisticRegression, pd.DataFrame, Path]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(2000, 10)), columns=FEATURES)
    labels = (frame["f0"] + 0.5 * frame["f1"] - frame["f2"] > 0).astype(int)
    model = LogisticRegression(max_iter=500).fit(frame.to_numpy(), labels)
    path = tmp / "model.pkl"
    path.write_bytes(pickle.dumps(model))
    return model, frame, path


def start_podium(tmp: Path, model: LogisticRegression, frame: pd.DataFrame) -> dict[str, Any]:
    """Register the model (and its ONNX version), deploy it twice, start two servers."""
    env = {**os.environ, "PODIUM_HOME": str(tmp / "podium-home"), "PODIUM_PROJECT": "bench"}
    for key in ("PODIUM_URL", "PODIUM_DATABASE_URL", "PODIUM_STORAGE_URL"):
        env.pop(key, None)
    setup = textwrap.dedent(
        f"""
        import pickle, pandas as pd, podium
        from podium.access.roles import Role
        from podium.registry.optimization import optimize_version
        p = podium.connect(project="bench")
        model = pickle.load(open({str(tmp / "model.pkl")!r}, "rb"))
        frame = pd.read_parquet({str(tmp / "frame.parquet")!r})
        v1 = p.registry.register("churn", model, input_example=frame[:5])
        onnx, _ = optimize_version(p.registry, v1.ref, sample=frame[:200])
        p.deployments.create("churn", model=v1.ref, cache={{"enabled": False}})
        p.deployments.create("churn-fast", model=onnx.ref, cache={{"enabled": False}},
                             batching={{"enabled": True, "max_batch_size": 32, "max_wait_ms": 1}})
        from podium.config import Settings
        from podium.platform import Installation
        inst = Installation(Settings(project="bench"))
        _, secret = inst.keys.create("bench", Role.READER, name="bench")
        print(secret)
        """
    )
    frame.to_parquet(tmp / "frame.parquet")
    done = subprocess.run(
        [sys.executable, "-c", setup], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    secret = done.stdout.strip().splitlines()[-1]
    servers = {}
    for name, deployment in (("podium", "churn"), ("podium-fast", "churn-fast")):
        port = free_port()
        proc = subprocess.Popen(
            [str(VENV_BIN / "podium"), "serve", deployment, "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        servers[name] = {"proc": proc, "port": port, "model_id": deployment}
    # The podium server again, with the Open Inference Protocol over gRPC too.
    port, grpc_port = free_port(), free_port()
    proc = subprocess.Popen(
        [str(VENV_BIN / "podium"), "serve", "churn", "--port", str(port),
         "--grpc-port", str(grpc_port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    servers["podium-oip"] = {
        "proc": proc, "port": port, "grpc_port": grpc_port, "model_id": "churn"
    }  # fmt: skip
    return {"servers": servers, "secret": secret}


def start_bare(tmp: Path, model_path: Path) -> dict[str, Any]:
    app = tmp / "bare_app.py"
    app.write_text(BARE_APP.format(model=str(model_path), names=FEATURES))
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    return {"proc": proc, "port": port, "model_id": "churn"}


def start_bentoml(tmp: Path, model_path: Path, python: Path) -> dict[str, Any]:
    service = tmp / "bento_service.py"
    service.write_text(BENTO_SERVICE.format(model=str(model_path), names=FEATURES))
    port = free_port()
    proc = subprocess.Popen(
        [str(python.parent / "bentoml"), "serve", "bento_service:Churn", "--port", str(port)],
        cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={**os.environ, "BENTOML_HOME": str(tmp / "bentoml-home")},
        start_new_session=True,
    )  # fmt: skip
    return {"proc": proc, "port": port, "model_id": "churn"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", default="1,32")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--no-bentoml", action="store_true", help="leave BentoML out")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    bento_python = None
    if not args.no_bentoml:
        try:
            bento_python = anchor_python(
                default_venv_dir("bentoml"), [BENTOML, "scikit-learn==1.9.1"]
            )
        except AnchorVenvError as exc:
            print(f"BentoML left out: {exc}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="podium-serving-bench-") as scratch:
        tmp = Path(scratch)
        model, frame, model_path = train(tmp)
        podium = start_podium(tmp, model, frame)
        servers: dict[str, dict[str, Any]] = dict(podium["servers"])
        servers["bare"] = start_bare(tmp, model_path)
        if bento_python is not None:
            servers["bentoml"] = start_bentoml(tmp, model_path, bento_python)
        try:
            for name, server in servers.items():
                wait_ready(server["port"], server["proc"])
                if name == "bentoml":
                    time.sleep(3)  # its worker starts after the port opens
            results = run_all(tmp, servers, podium["secret"], args)
            protocols = run_protocols(servers["podium-oip"], podium["secret"], args)
        finally:
            for server in servers.values():
                stop(server["proc"])
    info = machine_info(load_before, bentoml=BENTOML)
    report(results, info)
    report_protocols(protocols)
    if args.json:
        figures = {"results": results, "protocols": protocols, "machine": info}
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


def run_all(
    tmp: Path, servers: dict[str, dict[str, Any]], secret: str, args: argparse.Namespace
) -> dict[str, dict[int, dict[str, float]]]:
    results: dict[str, dict[int, dict[str, float]]] = {name: {} for name in servers}
    order = list(servers)
    for connections in (int(c) for c in args.connections.split(",")):
        for name in order:  # alternate: every server at this load before the next load
            server = servers[name]
            body = {"model_id": server["model_id"], "features": ROW}
            if name == "bentoml":
                body = {"features": ROW}
            auth = f'wrk.headers["Authorization"] = "Bearer {secret}"' if "podium" in name else ""
            script = tmp / f"{name}.lua"
            script.write_text(WRK_SCRIPT.format(body=json.dumps(body), auth=auth))
            path = "/predict" if name == "bentoml" else "/v1/predictions"
            if name == "podium-oip":
                binary, header_length = oip_binary_body()
                script.write_text(
                    WRK_BINARY.format(
                        body=lua_bytes(binary), header_length=header_length, auth=auth
                    )
                )
                path = "/v2/models/churn/infer"
            url = f"http://127.0.0.1:{server['port']}{path}"
            results[name][connections] = wrk(
                url, script, connections, args.seconds, server["proc"].pid
            )
            print(f"{name:12s} c={connections:<3d} {results[name][connections]}", file=sys.stderr)
        order.reverse()
    return results


Send = Callable[[], Awaitable[None]]


def run_protocols(
    server: dict[str, Any], secret: str, args: argparse.Namespace
) -> dict[str, dict[int, dict[str, float]]]:
    """/v1/predictions, OIP REST binary and OIP gRPC of one server, one asyncio client."""
    import asyncio

    results: dict[str, dict[int, dict[str, float]]] = {}
    order = ["v1 REST JSON", "OIP REST binary", "OIP gRPC"]
    for connections in (int(c) for c in args.connections.split(",")):
        for kind in order:
            figures = asyncio.run(_drive(kind, server, secret, connections, args.seconds))
            results.setdefault(kind, {})[connections] = figures
            print(f"{kind:16s} c={connections:<3d} {figures}", file=sys.stderr)
        order.reverse()
    return results


async def _drive(
    kind: str, server: dict[str, Any], secret: str, connections: int, seconds: int
) -> dict[str, float]:
    import aiohttp
    import grpc

    auth = {"authorization": f"Bearer {secret}"}
    base = f"http://127.0.0.1:{server['port']}"
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections))
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server['grpc_port']}")
    try:
        if kind == "OIP gRPC":
            call = channel.unary_unary("/inference.GRPCInferenceService/ModelInfer")
            request = oip_grpc_request()
            metadata = tuple(auth.items())

            async def send() -> None:
                await call(request, metadata=metadata)

        else:
            if kind == "OIP REST binary":
                body, length = oip_binary_body()
                url = f"{base}/v2/models/churn/infer"
                headers = {**auth, "inference-header-content-length": str(length)}
            else:
                body = json.dumps({"model_id": "churn", "features": ROW}).encode()
                url = f"{base}/v1/predictions"
                headers = {**auth, "content-type": "application/json"}

            async def send() -> None:
                async with session.post(url, data=body, headers=headers) as answer:
                    await answer.read()
                    if answer.status != 200:
                        raise RuntimeError(f"{kind}: HTTP {answer.status}")

        return await _load(send, connections, seconds)
    finally:
        await session.close()
        await channel.close()


async def _load(send: Send, connections: int, seconds: int) -> dict[str, float]:
    import asyncio

    for _ in range(20):  # warm the connections up
        await send()
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            await send()
            latencies.append(time.perf_counter() - start)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "rps": len(ordered) / elapsed,
        "p50_ms": ordered[len(ordered) // 2] * 1000,
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
    }


def report_protocols(results: dict[str, dict[int, dict[str, float]]]) -> None:
    print("\nprotocols of one podium serve replica, one asyncio client (aiohttp, grpc.aio)")
    print(f"{'protocol':16s} {'conns':>5s} {'req/s':>9s} {'p50 ms':>8s} {'p99 ms':>8s}")
    for kind, by_conn in results.items():
        for conns, r in by_conn.items():
            print(f"{kind:16s} {conns:5d} {r['rps']:9.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f}")
    top = max((c for by in results.values() for c in by), default=0)
    grpc_rps = results.get("OIP gRPC", {}).get(top, {}).get("rps")
    for rest in ("v1 REST JSON", "OIP REST binary"):
        rest_rps = results.get(rest, {}).get(top, {}).get("rps")
        if grpc_rps and rest_rps:
            print(f"OIP gRPC / {rest:16s} req/s {grpc_rps / rest_rps:5.2f}x ({top} connections)")


def stop(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM) if _own_group(proc) else proc.terminate()
        proc.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        proc.kill()


def _own_group(proc: subprocess.Popen[bytes]) -> bool:
    try:
        return os.getpgid(proc.pid) == proc.pid
    except ProcessLookupError:
        return False


def report(results: dict[str, dict[int, dict[str, float]]], info: dict[str, Any]) -> None:
    print(f"\nserving benchmark, {info['date']}, {info['cores']} cores, {info['cpu']}")
    print(f"load before {info['load_1m_before']}, after {info['load_1m_after']}")
    print(
        f"{'server':12s} {'conns':>5s} {'req/s':>9s} {'p50 ms':>8s} {'p99 ms':>8s} "
        f"{'RSS MB':>7s} {'errors':>6s}"
    )
    for name, by_conn in results.items():
        for conns, r in by_conn.items():
            print(
                f"{name:12s} {conns:5d} {r['rps']:9.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
                f"{r['rss_mb']:7.0f} {int(r['non_2xx'] + r['socket_errors']):6d}"
            )
    print("\nratios (32 connections)")
    top = max((c for by in results.values() for c in by), default=0)
    pod = results.get("podium", {}).get(top)
    for other in ("bentoml", "bare"):
        theirs = results.get(other, {}).get(top)
        if pod and theirs:
            print(
                f"podium / {other:8s} req/s {pod['rps'] / theirs['rps']:6.2f}x   "
                f"p99 {pod['p99_ms'] / theirs['p99_ms']:6.2f}x   "
                f"RSS {pod['rss_mb'] / max(theirs['rss_mb'], 1):5.2f}x"
            )
    fast, bare = results.get("podium-fast", {}).get(top), results.get("bare", {}).get(top)
    if fast and bare:
        print(f"podium-fast / bare  req/s {fast['rps'] / bare['rps']:6.2f}x (batching + ONNX)")


if __name__ == "__main__":
    raise SystemExit(main())
