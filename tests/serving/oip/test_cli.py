"""``--grpc-port`` as a user runs it: ``podium serve`` and ``podium up`` processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tritonclient.grpc as triton
from sklearn.linear_model import LogisticRegression

from podium.access.roles import Role
from podium.config import Settings
from podium.platform import Installation
from tests.conftest import _free_port
from tests.serving.conftest import churn_frame

PODIUM = Path(sys.executable).parent / "podium"


@pytest.fixture
def home(tmp_path: Path) -> Iterator[tuple[Installation, dict[str, str]]]:
    """An embedded installation with deployment ``churn`` and the environment to reach it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PODIUM_")}
    env |= {"PODIUM_HOME": str(tmp_path / "home"), "PODIUM_PROJECT": "shop"}
    installation = Installation(Settings(home=tmp_path / "home", project="shop"))
    platform = installation.platform("shop", user="local:test")
    frame, labels = churn_frame()
    model = LogisticRegression(max_iter=500).fit(frame.to_numpy(), labels)
    platform.registry.register("churn", model, input_example=frame[:5])
    platform.deployments.create("churn", model="churn/1")
    yield installation, env
    installation.close()


def _wait_for(port: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("the server did not start")


@pytest.mark.parametrize("command", [["serve", "churn"], ["up"]])
def test_grpc_port_serves_tritonclient(
    home: tuple[Installation, dict[str, str]], command: list[str]
) -> None:
    installation, env = home
    _, secret = installation.keys.create("shop", Role.READER, name="grpc")
    port, grpc_port = _free_port(), _free_port()
    proc = subprocess.Popen(
        [str(PODIUM), *command, "--port", str(port), "--grpc-port", str(grpc_port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(grpc_port, proc)
        client = triton.InferenceServerClient(url=f"127.0.0.1:{grpc_port}")
        assert client.is_server_live()
        tensor = triton.InferInput("input-0", [1, 3], "FP64")
        tensor.set_data_from_numpy(np.array([[24, 89.99, 2]], dtype=np.float64))
        result = client.infer("churn", [tensor], headers={"authorization": f"Bearer {secret}"})
        assert result.as_numpy("probabilities").shape == (1, 2)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_a_busy_grpc_port_is_a_one_line_error(home: tuple[Installation, dict[str, str]]) -> None:
    _, env = home
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        done = subprocess.run(
            [str(PODIUM), "serve", "churn", "--port", str(_free_port()), "--grpc-port", str(busy)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert str(busy) in done.stderr and "--grpc-port" in done.stderr
