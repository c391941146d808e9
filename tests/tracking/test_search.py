"""search_runs and compare_runs on the database: every comparator, order, page, project."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from podium.config import Settings
from podium.errors import InvalidInputError, NotFoundError
from podium.platform import Installation, Platform
from podium.tracking.types import MetricPoint, RunStatus


@dataclass
class Seeded:
    """Four runs with known params, metrics and tags; ``ids`` maps a letter to a run id."""

    platform: Platform
    ids: dict[str, str]

    def names(
        self,
        filter: str | None = None,
        *,
        order_by: list[str] | None = None,
        experiments: str | list[str] | None = None,
    ) -> list[str]:
        """The letters of the runs a search returns, in order."""
        page = self.platform.tracking.search_runs(
            experiments, filter=filter, order_by=order_by, max_results=100
        )
        assert page.next_page_token is None
        return [r.name for r in page.runs]

    def matching(self, filter: str) -> set[str]:
        return set(self.names(filter))


def _wait_a_millisecond() -> None:
    """So runs get distinct start times and the default order is known."""
    start = time.time_ns() // 1_000_000
    while time.time_ns() // 1_000_000 == start:
        time.sleep(0.0005)


@pytest.fixture
def seeded(platform: Platform) -> Seeded:
    tracking = platform.tracking
    spec: dict[str, tuple[str, dict[str, str], dict[str, float], dict[str, str], RunStatus | None]]
    spec = {
        "a": ("main", {"model": "rf", "C": "0.1"}, {"auc": 0.9, "loss": 0.2},
              {"team": "ml", "stage": "Prod"}, "FINISHED"),
        "b": ("main", {"model": "lr", "C": "1.0"}, {"auc": 0.7},
              {"team": "ML-ops"}, "FAILED"),
        "c": ("main", {"model": "RF-big"}, {"auc": 0.8, "loss": 0.5},
              {"team": "data%_\\"}, None),
        "d": ("side", {}, {}, {}, None),
    }  # fmt: skip
    ids: dict[str, str] = {}
    for name, (experiment, params, metrics, tags, status) in spec.items():
        _wait_a_millisecond()
        run = tracking.create_run(experiment, name=name, tags=tags)
        ids[name] = run.id
        tracking.log_params(run.id, params)
        points = [MetricPoint(key=k, value=v, step=1, timestamp=1) for k, v in metrics.items()]
        tracking.log_metric_points(run.id, points)
        if status is not None:
            tracking.end_run(run.id, status=status)
    return Seeded(platform, ids)


def test_no_filter_returns_every_run_newest_first(seeded: Seeded) -> None:
    assert seeded.names() == ["d", "c", "b", "a"]
    assert seeded.names("") == ["d", "c", "b", "a"]
    assert seeded.names("   ") == ["d", "c", "b", "a"]


def test_runs_come_back_complete(seeded: Seeded) -> None:
    (run,) = seeded.platform.tracking.search_runs(filter="attributes.run_name = 'a'").runs
    assert run == seeded.platform.tracking.get_run(seeded.ids["a"])
    assert run.params == {"model": "rf", "C": "0.1"}
    assert run.metrics == {"auc": 0.9, "loss": 0.2}
    assert run.tags == {"team": "ml", "stage": "Prod"}
    assert run.experiment == "main"


METRIC_CASES: dict[str, set[str]] = {
    "metrics.auc = 0.8": {"c"},
    "metrics.auc != 0.8": {"a", "b"},  # runs without the metric never match
    "metrics.auc < 0.8": {"b"},
    "metrics.auc <= 0.8": {"b", "c"},
    "metrics.auc > 0.8": {"a"},
    "metrics.auc >= 0.8": {"a", "c"},
    "metrics.loss > 0": {"a", "c"},
    "metrics.missing > 0": set(),
    "metrics.auc > -1e3": {"a", "b", "c"},
}


def test_metric_comparators(seeded: Seeded) -> None:
    assert {f: seeded.matching(f) for f in METRIC_CASES} == METRIC_CASES


PARAM_CASES: dict[str, set[str]] = {
    "params.model = 'rf'": {"a"},
    "params.model != 'rf'": {"b", "c", "d"},  # a run without the param differs too
    "params.model LIKE 'rf%'": {"a"},  # case-sensitive on every database
    "params.model LIKE 'RF%'": {"c"},
    "params.model LIKE '_f'": {"a"},
    "params.model LIKE '%'": {"a", "b", "c"},
    "params.model ILIKE 'rf%'": {"a", "c"},
    "params.model ILIKE 'R_'": {"a"},
    "params.model IN ('rf', 'lr')": {"a", "b"},
    "params.model IN ('nope')": set(),
    "params.model NOT IN ('rf', 'lr')": {"c", "d"},
    "params.C = 0.1": {"a"},  # a bare number means its string
    "params.C = '1.0'": {"b"},
    "params.C = 1": set(),  # '1' is not '1.0': params are strings
}


def test_param_comparators(seeded: Seeded) -> None:
    assert {f: seeded.matching(f) for f in PARAM_CASES} == PARAM_CASES


TAG_CASES: dict[str, set[str]] = {
    "tags.team = 'ml'": {"a"},
    "tags.team != 'ml'": {"b", "c", "d"},
    "tags.team LIKE 'ml%'": {"a"},
    "tags.team ILIKE 'ml%'": {"a", "b"},
    "tags.team IN ('ml', 'ML-ops')": {"a", "b"},
    "tags.team NOT IN ('ml')": {"b", "c", "d"},
    "tags.stage ILIKE 'prod'": {"a"},
    # \ escapes LIKE's wildcards and itself, alike on every database.
    r"tags.team LIKE 'data\%\_\\\\'": {"c"},  # \\ in a filter string is one \
    r"tags.team LIKE 'data\%%'": {"c"},
    r"tags.team LIKE 'dat\a%'": {"c"},  # an escaped ordinary character is itself
    r"tags.team ILIKE 'DATA\%\_%'": {"c"},
    "tags.team LIKE 'd*'": set(),  # GLOB's wildcards are plain characters
    "tags.team LIKE 'data[%'": set(),
}


def test_tag_comparators(seeded: Seeded) -> None:
    assert {f: seeded.matching(f) for f in TAG_CASES} == TAG_CASES


def test_a_like_pattern_ending_in_a_lone_backslash_is_refused(seeded: Seeded) -> None:
    with pytest.raises(InvalidInputError, match="lone") as info:
        seeded.names(r"tags.team LIKE 'data\\'")  # the pattern is data\
    assert info.value.field == "filter"
    assert seeded.matching(r"tags.team LIKE 'data%\\\\'") == {"c"}  # an escaped one is fine


def test_attribute_comparators(seeded: Seeded) -> None:
    ids = seeded.ids
    tracking = seeded.platform.tracking
    a = tracking.get_run(ids["a"])
    c = tracking.get_run(ids["c"])
    assert seeded.matching("attributes.status = 'RUNNING'") == {"c", "d"}
    assert seeded.matching("attributes.status != 'RUNNING'") == {"a", "b"}
    assert seeded.matching("attributes.status IN ('FINISHED', 'FAILED')") == {"a", "b"}
    assert seeded.matching("attributes.status NOT IN ('FINISHED', 'FAILED')") == {"c", "d"}
    assert seeded.matching("attributes.status LIKE 'F%'") == {"a", "b"}
    assert seeded.matching("attributes.status LIKE 'f%'") == set()
    assert seeded.matching("attributes.status ILIKE 'f%'") == {"a", "b"}
    assert seeded.matching("attributes.run_name = 'b'") == {"b"}
    assert seeded.matching("attr.name IN ('a', 'd')") == {"a", "d"}
    assert seeded.matching(f"attributes.run_id = '{ids['c']}'") == {"c"}
    assert seeded.matching(f"attributes.id != '{ids['c']}'") == {"a", "b", "d"}
    assert seeded.matching(f"attributes.experiment_id = '{a.experiment_id}'") == {"a", "b", "c"}
    assert seeded.matching("attributes.user = 'local:test'") == {"a", "b", "c", "d"}
    assert seeded.matching(f"attributes.start_time = {c.start_time}") == {"c"}
    assert seeded.matching(f"attributes.start_time != {c.start_time}") == {"a", "b", "d"}
    assert seeded.matching(f"attributes.start_time < {c.start_time}") == {"a", "b"}
    assert seeded.matching(f"attributes.start_time <= {c.start_time}") == {"a", "b", "c"}
    assert seeded.matching(f"attributes.start_time > {c.start_time}") == {"d"}
    assert seeded.matching(f"attributes.start_time >= {c.start_time}") == {"c", "d"}
    assert seeded.matching(f"attributes.end_time >= {a.start_time}") == {"a", "b"}


def test_parent_run_id_attribute(platform: Platform) -> None:
    tracking = platform.tracking
    parent = tracking.create_run("exp", name="parent")
    child = tracking.create_run("exp", name="child", parent_run_id=parent.id)
    page = tracking.search_runs(filter=f"attributes.parent_run_id = '{parent.id}'")
    assert [r.id for r in page.runs] == [child.id]


def test_clauses_combine_with_and(seeded: Seeded) -> None:
    assert seeded.matching("metrics.auc > 0.75 AND params.model ILIKE '%r%'") == {"a", "c"}
    assert seeded.matching("metrics.auc > 0.75 AND params.model LIKE '%r%'") == {"a"}
    assert seeded.matching(
        "metrics.auc > 0.75 and params.model ILIKE 'rf%' and tags.team != 'ml'"
    ) == {"c"}
    assert seeded.matching(
        "metrics.auc >= 0.7 AND metrics.loss < 1 AND attributes.status = 'RUNNING'"
    ) == {"c"}
    assert seeded.matching("params.model = 'rf' AND params.model = 'lr'") == set()


def test_bad_filters_are_invalid_input(seeded: Seeded) -> None:
    for bad in ("metrics.auc >", "metrics.auc > 'x'", "foo.bar = 1", "params.a = 'x' OR 1"):
        with pytest.raises(InvalidInputError) as info:
            seeded.names(bad)
        assert info.value.field == "filter"
    with pytest.raises(InvalidInputError):
        seeded.names(order_by=["metrics.auc SIDEWAYS"])


def test_order_by_metric_puts_runs_without_it_last(seeded: Seeded) -> None:
    assert seeded.names(order_by=["metrics.auc DESC"]) == ["a", "c", "b", "d"]
    assert seeded.names(order_by=["metrics.auc ASC"]) == ["b", "c", "a", "d"]
    assert seeded.names(order_by=["metrics.auc"]) == ["b", "c", "a", "d"]
    # b and d lack loss; among them, the default order (newest first) decides.
    assert seeded.names(order_by=["metrics.loss DESC"]) == ["c", "a", "d", "b"]
    assert seeded.names(order_by=["metrics.loss"]) == ["a", "c", "d", "b"]


def test_order_by_several_keys(seeded: Seeded) -> None:
    order = ["attributes.status", "metrics.auc DESC"]
    assert seeded.names(order_by=order) == ["b", "a", "c", "d"]
    assert seeded.names("metrics.auc > 0", order_by=["metrics.loss", "params.model"]) == [
        "a",
        "c",
        "b",
    ]


def test_order_by_params_and_tags_by_code_point(seeded: Seeded) -> None:
    # Code point order ('R' < 'l' < 'r') on every database, whatever its collation.
    assert seeded.names(order_by=["params.model"]) == ["c", "b", "a", "d"]
    assert seeded.names(order_by=["params.model DESC"]) == ["a", "b", "c", "d"]
    assert seeded.names(order_by=["tags.team DESC"]) == ["a", "c", "b", "d"]


def test_order_by_attributes(seeded: Seeded) -> None:
    assert seeded.names(order_by=["attributes.start_time"]) == ["a", "b", "c", "d"]
    assert seeded.names(order_by=["attributes.start_time DESC"]) == ["d", "c", "b", "a"]
    assert seeded.names(order_by=["attributes.run_name DESC"]) == ["d", "c", "b", "a"]
    assert seeded.names(order_by=["attributes.end_time"])[2:] == ["d", "c"]  # unended last


def test_experiments_restrict_the_search(seeded: Seeded) -> None:
    assert seeded.names(experiments="main") == ["c", "b", "a"]
    assert seeded.names(experiments=["side"]) == ["d"]
    assert seeded.names(experiments=["main", "side"]) == ["d", "c", "b", "a"]
    assert seeded.names(experiments=[]) == ["d", "c", "b", "a"]  # none given: all
    main = seeded.platform.tracking.get_experiment("main")
    assert seeded.names(experiments=main.id) == ["c", "b", "a"]
    assert seeded.names("metrics.auc > 0.75", experiments="side") == []


def test_pagination_returns_every_run_once(platform: Platform) -> None:
    tracking = platform.tracking
    expected = set()
    for i in range(13):
        run = tracking.create_run("paged", name=f"r{i}")
        expected.add(run.id)
        if i % 3:  # some without the metric or param, many with equal values
            point = MetricPoint(key="auc", value=float(i % 4), step=0, timestamp=1)
            tracking.log_metric_points(run.id, [point])
            tracking.log_params(run.id, {"group": str(i % 2)})
    for order_by in (None, ["metrics.auc DESC"], ["params.group", "attributes.run_name DESC"]):
        seen: list[str] = []
        sizes: list[int] = []
        token: str | None = None
        while True:
            page = tracking.search_runs("paged", order_by=order_by, max_results=4, page_token=token)
            sizes.append(len(page.runs))
            seen += [r.id for r in page.runs]
            token = page.next_page_token
            if token is None:
                break
        assert sizes == [4, 4, 4, 1], order_by
        assert len(seen) == len(set(seen)) == 13, order_by
        assert set(seen) == expected
        whole = tracking.search_runs("paged", order_by=order_by, max_results=100).runs
        assert [r.id for r in whole] == seen, order_by  # pages concatenate to one order


def test_exact_last_page_has_no_token(seeded: Seeded) -> None:
    page = seeded.platform.tracking.search_runs(max_results=4)
    assert len(page.runs) == 4
    assert page.next_page_token is None
    first = seeded.platform.tracking.search_runs(max_results=3)
    last = seeded.platform.tracking.search_runs(max_results=3, page_token=first.next_page_token)
    assert [r.name for r in last.runs] == ["a"]
    assert last.next_page_token is None


def test_bad_page_token_or_max_results_is_invalid_input(seeded: Seeded) -> None:
    for token in ["garbage!", "bm9wZQ==", "bzotMQ==", "eDo1", "o:5", "%%%"]:
        with pytest.raises(InvalidInputError) as info:
            seeded.platform.tracking.search_runs(page_token=token)
        assert (info.value.field, bool(info.value.remedy)) == ("page_token", True), token
    for max_results in [0, -1, 10_001]:
        with pytest.raises(InvalidInputError) as info:
            seeded.platform.tracking.search_runs(max_results=max_results)
        assert info.value.field == "max_results"


def test_compare_runs(seeded: Seeded) -> None:
    ids = seeded.ids
    comparison = seeded.platform.tracking.compare_runs([ids["a"], ids["b"], ids["d"]])
    assert [r.name for r in comparison.runs] == ["a", "b", "d"]  # in the order asked
    assert comparison.param_keys == ["C", "model"]
    assert comparison.metric_keys == ["auc", "loss"]
    assert comparison.differing_params == ["C", "model"]
    twins = seeded.platform.tracking.compare_runs([ids["a"], ids["a"]])
    assert twins.differing_params == []
    single = seeded.platform.tracking.compare_runs([ids["c"]])
    assert single.differing_params == [] and single.param_keys == ["model"]


def test_compare_runs_checks_its_input(seeded: Seeded) -> None:
    tracking = seeded.platform.tracking
    with pytest.raises(InvalidInputError):
        tracking.compare_runs([])
    with pytest.raises(InvalidInputError):
        tracking.compare_runs([seeded.ids["a"]] * 101)
    with pytest.raises(NotFoundError):
        tracking.compare_runs([seeded.ids["a"], "0" * 32])


def test_other_projects_runs_are_invisible(
    installation: Installation, seeded: Seeded, project_name: str
) -> None:
    other = installation.platform(f"{project_name}-other", user="local:test").tracking
    theirs = other.create_run("main", name="theirs")
    other.log_params(theirs.id, {"model": "rf"})
    other.log_metric_points(theirs.id, [MetricPoint(key="auc", value=0.99, step=0, timestamp=1)])
    other.set_tags(theirs.id, {"team": "ml"})

    mine = seeded.platform.tracking
    assert theirs.id not in {r.id for r in mine.search_runs(max_results=100).runs}
    assert seeded.names("params.model = 'rf'") == ["a"]
    assert seeded.names("metrics.auc > 0.95") == []
    assert seeded.names(f"attributes.run_id = '{theirs.id}'") == []
    assert seeded.names(order_by=["metrics.auc DESC"]) == ["a", "c", "b", "d"]
    # Its experiment of the same name is another experiment.
    assert other.get_experiment("main").id != mine.get_experiment("main").id
    with pytest.raises(NotFoundError):
        mine.get_experiment(other.get_experiment("main").id)
    for call in (
        lambda: mine.get_run(theirs.id),
        lambda: mine.end_run(theirs.id),
        lambda: mine.log_params(theirs.id, {"x": 1}),
        lambda: mine.log_metric_points(
            theirs.id, [MetricPoint(key="m", value=1.0, step=0, timestamp=1)]
        ),
        lambda: mine.set_tags(theirs.id, {"x": 1}),
        lambda: mine.log_inputs(theirs.id, ["raw.a@1"]),
        lambda: mine.metric_history(theirs.id, "auc"),
        lambda: mine.put_artifact(theirs.id, "x.txt", b"x"),
        lambda: mine.list_artifacts(theirs.id),
        lambda: mine.read_artifact(theirs.id, "x.txt"),
        lambda: mine.compare_runs([theirs.id]),
        lambda: mine.create_run("main", parent_run_id=theirs.id),
    ):
        with pytest.raises(NotFoundError):
            call()
    # And nothing leaked into their run.
    stored = other.get_run(theirs.id)
    assert stored.status == "RUNNING"
    assert stored.params == {"model": "rf"}
    assert other.list_artifacts(theirs.id) == []


def test_string_order_ignores_the_database_collation(
    postgres_url: str, tmp_path: Path, project_name: str
) -> None:
    """On a PostgreSQL database sorting 'en-US' style ('lr' < 'RF'), still code point order."""
    import psycopg

    admin = make_url(postgres_url).set(drivername="postgresql")
    name = f"{admin.database}_icu"
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING UTF8 '
            "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
        )
    url = admin.set(database=name).render_as_string(hide_password=False)
    installation = Installation(Settings(home=tmp_path / "home", database_url=url))
    try:
        tracking = installation.platform(project_name, user="local:test").tracking
        for model in ("rf", "RF-big", "lr"):
            run = tracking.create_run("exp", name=model, tags={"model": model})
            tracking.log_params(run.id, {"model": model, "start_time": model})
        orders = (["params.model"], ["params.start_time"], ["tags.model"], ["attr.run_name"])
        for order in orders:
            runs = tracking.search_runs(order_by=order).runs
            assert [r.name for r in runs] == ["RF-big", "lr", "rf"], order
    finally:
        installation.close()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
