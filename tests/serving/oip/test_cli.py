"""``--grpc-port`` as a user runs it: ``podium serve`` and ``podium up`` processes."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tritonclient.grpc as triton

from podium.access.roles import Role
from podium.platform import Installation
from tests.conftest import free_port
from tests.serving.conftest import wait_for_port

PODIUM = Path(sys.executable).parent / "podium"


@pytest.mark.parametrize("command", [["serve", "churn"], ["up"]])
def test_grpc_port_serves_tritonclient(
    home: tuple[Installation, dict[str, str]], command: list[str]
) -> None:
    installation, env = home
    _, secret = installation.keys.create("shop", Role.READER, name="grpc")
    port, grpc_port = free_port(), free_port()
    proc = subprocess.Popen(
        [str(PODIUM), *command, "--port", str(port), "--grpc-port", str(grpc_port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_port(grpc_port, proc)
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
            [str(PODIUM), "serve", "churn", "--port", str(free_port()), "--grpc-port", str(busy)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert str(busy) in done.stderr and "--grpc-port" in done.stderr
