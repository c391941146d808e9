"""A bundle served over HTTP on localhost: the sidecar of an application's container.

``python serve.py [--host 127.0.0.1] [--port 8500]`` answers ``GET /healthz`` and
``POST /predict`` (a JSON list of rows, or ``{"rows": [...]}``) with
``{"predictions": [...]}``; bad rows get a 400 with ``{"error": ...}``. It needs what
``predict.py`` beside it needs (onnxruntime and numpy) and the standard library.
"""

from __future__ import annotations

import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from predict import BundleError, predict  # type: ignore[import-not-found, unused-ignore]

_MAX_BODY = 8 * 1024 * 1024


class Handler(BaseHTTPRequestHandler):
    """``/healthz`` and ``/predict``."""

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._answer(200, {"status": "ok"})
        else:
            self._answer(404, {"error": f"no route {self.path}; POST /predict"})

    def do_POST(self) -> None:
        if self.path != "/predict":
            self._answer(404, {"error": f"no route {self.path}; POST /predict"})
            return
        length = int(self.headers.get("content-length") or 0)
        if length > _MAX_BODY:
            self._answer(413, {"error": f"the body is over {_MAX_BODY} bytes; send fewer rows"})
            return
        try:
            body = json.loads(self.rfile.read(length) or b"null")
            rows = body.get("rows") if isinstance(body, dict) else body
            self._answer(200, {"predictions": predict(rows)})
        except (json.JSONDecodeError, BundleError) as exc:
            self._answer(400, {"error": str(exc)})

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: one line per request is not a sidecar's job."""

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    """Serve until interrupted."""
    parser = argparse.ArgumentParser(description="Serve the bundle on localhost.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8500)
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    print(f"serving the bundle on http://{args.host}:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
