"""``runner="ray"``: parts scored on a local Ray, the same output table as the local runner."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from podium.platform import Platform
from tests.batch.conftest import Scored

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module", autouse=True)
def ray_shut_down_after() -> Iterator[None]:
    """The runner starts a local Ray in this worker; stop it so other modules start theirs."""
    yield
    if ray.is_initialized():
        ray.shutdown()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_ray_writes_the_same_table_as_local(platform: Platform, scored: Scored) -> None:
    local = platform.batch.predict(
        scored.ref, source="curated.customers", output="scores.local", key="customer_id"
    )
    on_ray = platform.batch.predict(
        scored.ref,
        source="curated.customers",
        output="scores.ray",
        key="customer_id",
        runner="ray",
        part_rows=1_000,
    )
    assert on_ray.status == "succeeded", on_ray.error
    assert (on_ray.runner, on_ray.rows, on_ray.parts_done) == ("ray", 3_000, 3)
    expected = platform.data.read("scores.local", version=local.output_version)
    got = platform.data.read("scores.ray", version=on_ray.output_version)
    assert got.sort_by("customer_id").equals(expected.sort_by("customer_id"))
