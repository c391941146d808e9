"""Tests for the run-search filter and order-by parser."""

from __future__ import annotations

import time

import pytest

from podium.errors import InvalidInputError
from podium.tracking.filter import Clause, OrderKey, parse_filter, parse_order_by

# --- happy paths -----------------------------------------------------------------------------

SINGLE = [
    # entities and their aliases
    ("metrics.auc > 0.8", Clause("metrics", "auc", ">", 0.8)),
    ("metric.auc > 0.8", Clause("metrics", "auc", ">", 0.8)),
    ("METRICS.auc > 0.8", Clause("metrics", "auc", ">", 0.8)),
    ("params.model = 'rf'", Clause("params", "model", "=", "rf")),
    ("param.model = 'rf'", Clause("params", "model", "=", "rf")),
    ("tags.team = 'ml'", Clause("tags", "team", "=", "ml")),
    ("tag.team = 'ml'", Clause("tags", "team", "=", "ml")),
    ("attributes.status = 'FINISHED'", Clause("attributes", "status", "=", "FINISHED")),
    ("attribute.status = 'FINISHED'", Clause("attributes", "status", "=", "FINISHED")),
    ("attr.status = 'FINISHED'", Clause("attributes", "status", "=", "FINISHED")),
    # keys
    ("metrics.val.auc >= 0.5", Clause("metrics", "val.auc", ">=", 0.5)),
    ("metrics.loss/train:v2-a < 1", Clause("metrics", "loss/train:v2-a", "<", 1.0)),
    ("metrics._x < 1", Clause("metrics", "_x", "<", 1.0)),
    ("metrics.`my key` < 1", Clause("metrics", "my key", "<", 1.0)),
    ("metrics.`1st loss` < 1", Clause("metrics", "1st loss", "<", 1.0)),
    ("params.\"my key\" = 'a'", Clause("params", "my key", "=", "a")),
    ('params."a""b" = \'a\'', Clause("params", 'a"b', "=", "a")),
    ("params.Model = 'rf'", Clause("params", "Model", "=", "rf")),
    # comparators
    ("metrics.a = 1", Clause("metrics", "a", "=", 1.0)),
    ("metrics.a == 1", Clause("metrics", "a", "=", 1.0)),
    ("metrics.a != 1", Clause("metrics", "a", "!=", 1.0)),
    ("metrics.a <> 1", Clause("metrics", "a", "!=", 1.0)),
    ("metrics.a < 1", Clause("metrics", "a", "<", 1.0)),
    ("metrics.a <= 1", Clause("metrics", "a", "<=", 1.0)),
    ("metrics.a > 1", Clause("metrics", "a", ">", 1.0)),
    ("metrics.a >= 1", Clause("metrics", "a", ">=", 1.0)),
    ("metrics.a>=1", Clause("metrics", "a", ">=", 1.0)),
    ("params.a LIKE 'x%'", Clause("params", "a", "LIKE", "x%")),
    ("params.a like'x%'", Clause("params", "a", "LIKE", "x%")),
    ("params.a ILIKE 'x%'", Clause("params", "a", "ILIKE", "x%")),
    ("params.a != 'x'", Clause("params", "a", "!=", "x")),
    ("params.a IN ('x', 'y')", Clause("params", "a", "IN", ("x", "y"))),
    ("params.a in('x')", Clause("params", "a", "IN", ("x",))),
    ("params.a NOT IN ('x','y' , \"z\")", Clause("params", "a", "NOT IN", ("x", "y", "z"))),
    ("params.a not   in ( 'x' )", Clause("params", "a", "NOT IN", ("x",))),
    ("tags.a IN (1, 'b', 2.5)", Clause("tags", "a", "IN", ("1", "b", "2.5"))),
    # numbers
    ("metrics.a > -0.5", Clause("metrics", "a", ">", -0.5)),
    ("metrics.a>-1", Clause("metrics", "a", ">", -1.0)),
    ("metrics.a > +2", Clause("metrics", "a", ">", 2.0)),
    ("metrics.a > 1e-3", Clause("metrics", "a", ">", 0.001)),
    ("metrics.a > 1.5E+2", Clause("metrics", "a", ">", 150.0)),
    ("metrics.a > .5", Clause("metrics", "a", ">", 0.5)),
    ("metrics.a > 5.", Clause("metrics", "a", ">", 5.0)),
    ("metrics.a > 10", Clause("metrics", "a", ">", 10.0)),
    # params/tags accept bare numbers as the string they are written as
    ("params.C = 0.5", Clause("params", "C", "=", "0.5")),
    ("params.C = 1", Clause("params", "C", "=", "1")),
    ("params.C = 1e-3", Clause("params", "C", "=", "1e-3")),
    ("tags.v = -2", Clause("tags", "v", "=", "-2")),
    # strings
    ("params.a = 'it''s'", Clause("params", "a", "=", "it's")),
    ("params.a = 'it\\'s'", Clause("params", "a", "=", "it's")),
    ("params.a = 'back\\\\slash'", Clause("params", "a", "=", "back\\slash")),
    ("params.a LIKE '50\\%'", Clause("params", "a", "LIKE", "50\\%")),
    ('params.a = "double"', Clause("params", "a", "=", "double")),
    ('params.a = "say ""hi"""', Clause("params", "a", "=", 'say "hi"')),
    ('params.a = "it\'s"', Clause("params", "a", "=", "it's")),
    ("params.a = ''", Clause("params", "a", "=", "")),
    ("params.a = 'AND OR x'", Clause("params", "a", "=", "AND OR x")),
    ("params.a = 'ünï cödé'", Clause("params", "a", "=", "ünï cödé")),
    # attributes, aliases and types
    ("attributes.run_id = 'r1'", Clause("attributes", "run_id", "=", "r1")),
    ("attributes.id = 'r1'", Clause("attributes", "run_id", "=", "r1")),
    ("attributes.ID = 'r1'", Clause("attributes", "run_id", "=", "r1")),
    ("attributes.run_name LIKE 'a%'", Clause("attributes", "run_name", "LIKE", "a%")),
    ("attributes.name = 'a'", Clause("attributes", "run_name", "=", "a")),
    ("attributes.experiment_id = 3", Clause("attributes", "experiment_id", "=", "3")),
    ("attributes.parent_run_id = 'p'", Clause("attributes", "parent_run_id", "=", "p")),
    ("attributes.user ILIKE 'ann'", Clause("attributes", "user", "ILIKE", "ann")),
    (
        "attributes.status IN ('RUNNING', 'FAILED')",
        Clause("attributes", "status", "IN", ("RUNNING", "FAILED")),
    ),
    ("attributes.start_time >= 1700000000000", Clause("attributes", "start_time", ">=", 17e11)),
    ("attributes.end_time < 5", Clause("attributes", "end_time", "<", 5.0)),
    ("attributes.end_time != 5", Clause("attributes", "end_time", "!=", 5.0)),
    # whitespace
    ("  metrics.a > 1  ", Clause("metrics", "a", ">", 1.0)),
    ("\tmetrics.a\n>\n1\t", Clause("metrics", "a", ">", 1.0)),
]


@pytest.mark.parametrize(("text", "clause"), SINGLE, ids=[t for t, _ in SINGLE])
def test_single_clause(text: str, clause: Clause) -> None:
    assert parse_filter(text) == (clause,)


@pytest.mark.parametrize("text", [None, "", "   ", "\n\t "])
def test_empty_filter_means_no_clauses(text: str | None) -> None:
    assert parse_filter(text) == ()


def test_clauses_joined_by_and_in_order() -> None:
    text = (
        "metrics.auc > 0.8 AND params.model = 'rf' and tags.team LIKE 'ml-%' And attr.id IN ('a')"
    )
    assert parse_filter(text) == (
        Clause("metrics", "auc", ">", 0.8),
        Clause("params", "model", "=", "rf"),
        Clause("tags", "team", "LIKE", "ml-%"),
        Clause("attributes", "run_id", "IN", ("a",)),
    )


def test_and_needs_no_space_after_a_string() -> None:
    assert len(parse_filter("params.a='x'AND params.b='y'")) == 2


def test_clause_is_frozen_and_hashable() -> None:
    clause = parse_filter("metrics.a > 1")[0]
    with pytest.raises(AttributeError):
        clause.key = "b"  # type: ignore[misc]
    assert hash(clause) == hash(Clause("metrics", "a", ">", 1.0))


def test_metric_values_are_floats_and_param_values_strings() -> None:
    metric, param = parse_filter("metrics.a = 3 AND params.b = 3")
    assert isinstance(metric.value, float)
    assert param.value == "3"


# --- errors ----------------------------------------------------------------------------------

ERRORS = [
    # (filter, position, fragment of the message)
    ("metrics.auc > 0.8 AN params.C = '1'", 18, "unexpected 'AN' at position 18 in filter"),
    ("metrics.auc > 0.8 OR params.C = '1'", 18, "OR is not supported; combine clauses with AND"),
    ("metrics.auc > 0.8 or params.C = '1'", 18, "OR is not supported"),
    ("metrics.a > 1 ANDparams.b = 'x'", 14, "expected AND"),
    ("metrics.a > 1 AND", 17, "unexpected end at position 17"),
    ("metrics.a > 1 AND AND metrics.b > 1", 18, "unknown entity 'AND'"),
    ("metrics.a > 1 params.b = 'x'", 14, "expected AND"),
    ("metrics.a > 1 )", 14, "unexpected ')'"),
    # metrics compare with numbers, using numeric comparators
    ("metrics.auc = 'abc'", 14, "metrics compare with numbers"),
    ('metrics.auc = "0.8"', 14, "metrics compare with numbers"),
    ("metrics.auc LIKE '1'", 12, "metrics compare with =, !=, <, <=, >, >="),
    ("metrics.auc IN (1, 2)", 12, "metrics compare with"),
    ("metrics.auc NOT IN (1)", 12, "metrics compare with"),
    ("metrics.auc > abc", 14, "expected a number"),
    ("metrics.a > 1abc", 12, "expected a number"),
    ("metrics.a > 1.2.3", 12, "expected a number"),
    ("metrics.a > nan", 12, "expected a number"),
    # params/tags compare with strings
    ("params.C > 1", 9, "params compare with =, !=, LIKE, ILIKE, IN, NOT IN"),
    ("params.C <= '1'", 9, "params compare with"),
    ("tags.t >= 'x'", 7, "tags compare with"),
    ("params.model = rf", 15, "unexpected 'rf' at position 15"),
    ("params.model = rf", 15, "expected a quoted string or a number"),
    # attributes
    ("attributes.foo = 'a'", 11, "unknown attribute 'foo'"),
    ("attributes.foo = 'a'", 11, "run_id (id), run_name (name), status, start_time, end_time"),
    ("attributes.status > 'a'", 18, "attributes.status compares with =, !=, LIKE"),
    ("attributes.start_time > '1'", 24, "attributes.start_time compares with numbers"),
    ("attributes.end_time LIKE 1", 20, "attributes.end_time compares with =, !=, <"),
    ("attributes.start_time IN (1)", 22, "attributes.start_time compares with"),
    # identifiers
    ("metric_x.auc > 1", 0, "unknown entity 'metric_x'"),
    ("run.auc > 1", 0, "unknown entity 'run'"),
    ("auc > 1", 0, "unknown entity 'auc'"),
    ("metrics auc > 1", 7, "missing '.' at position 7"),
    ("metrics", 7, "missing '.'"),
    ("metrics-x.auc > 1", 7, "missing '.'"),
    ("metrics. > 1", 8, "expected a key after 'metrics.'"),
    ("metrics.1abc > 1", 8, "backquote other keys"),
    ("metrics.`auc > 1", 8, "unterminated key"),
    ("metrics.`` > 1", 8, "empty key"),
    ("params.\"\" = 'a'", 7, "empty key"),
    ("params.\"abc = 'a'", 7, "unterminated string"),
    ("> 1", 0, "unexpected '>'"),
    ("(metrics.a > 1)", 0, "unexpected '('"),
    ("  'x'", 2, "unexpected string 'x'"),
    # comparators
    ("metrics.auc 0.8", 12, "expected a comparator"),
    ("metrics.auc", 11, "expected a comparator"),
    ("metrics.auc ~ 1", 12, "unexpected '~'"),
    ("params.a NOT LIKE 'x'", 13, "expected IN after NOT"),
    ("params.a NOT", 12, "expected IN after NOT"),
    ("params.a NOTIN ('x')", 9, "expected a comparator"),
    ("params.a IS 'x'", 9, "unexpected 'IS'"),
    # values
    ("metrics.auc >", 13, "unexpected end at position 13"),
    ("metrics.auc > AND metrics.b > 1", 14, "expected a number"),
    ("params.a =", 10, "expected a quoted string or a number"),
    ("params.a = 'abc", 11, "unterminated string at position 11"),
    ("params.a = 'abc\\'", 11, "unterminated string"),
    ("params.a = 'ab''", 11, "unterminated string"),
    ('params.a = "abc', 11, 'close it with "'),
    ("params.a IN 'x'", 12, "expected '(' to start the IN list"),
    ("params.a NOT IN 'x'", 16, "expected '(' to start the NOT IN list"),
    ("params.a IN ()", 13, "expected a quoted string or a number"),
    ("params.a IN ('x',)", 17, "expected a quoted string or a number"),
    ("params.a IN ('x' 'y')", 17, "expected ',' or ')'"),
    ("params.a IN ('x'", 16, "expected ',' or ')'"),
    ("params.a IN (x)", 13, "unexpected 'x'"),
    ("params.a = ('x')", 11, "may only follow IN or NOT IN"),
    ("params.a = 'x' 'y'", 15, "expected AND"),
]


@pytest.mark.parametrize(("text", "position", "fragment"), ERRORS, ids=[e[0] for e in ERRORS])
def test_filter_errors(text: str, position: int, fragment: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_filter(text)
    error = info.value
    assert error.field == "filter"
    assert error.details == {"position": position}
    assert fragment in error.message
    assert f"at position {position} in filter" in error.message
    _, echo, caret = error.message.split("\n")
    assert echo == "  " + text
    assert caret == "  " + " " * position + "^"
    assert error.remedy is not None and "metrics.auc > 0.8" in error.remedy
    assert error.code == "invalid-input"
    assert isinstance(error, ValueError)


def test_error_message_matches_the_documented_example() -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_filter("metrics.auc > 0.8 AN params.C = '1'")
    assert info.value.message == (
        "unexpected 'AN' at position 18 in filter: expected AND\n"
        "  metrics.auc > 0.8 AN params.C = '1'\n"
        "                    ^"
    )
    assert info.value.to_dict()["position"] == 18


def test_error_echo_blanks_tabs_and_newlines_so_the_caret_lines_up() -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_filter("metrics.a\t>\n1 x")
    _, echo, caret = info.value.message.split("\n")
    assert echo == "  metrics.a > 1 x"
    assert caret.index("^") == echo.index("x")
    assert info.value.details == {"position": 14}


def test_long_tokens_are_shortened_in_the_message() -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_filter("metrics.a > 1 " + "x" * 100)
    assert "'" + "x" * 21 + "...'" in info.value.message


# --- order by --------------------------------------------------------------------------------

ORDER = [
    ("metrics.auc DESC", OrderKey("metrics", "auc", True)),
    ("metrics.auc desc", OrderKey("metrics", "auc", True)),
    ("metrics.auc", OrderKey("metrics", "auc", False)),
    ("params.C asc", OrderKey("params", "C", False)),
    ("  params.C   ASC  ", OrderKey("params", "C", False)),
    ("attributes.start_time", OrderKey("attributes", "start_time", False)),
    ("attr.name DESC", OrderKey("attributes", "run_name", True)),
    ("attributes.id", OrderKey("attributes", "run_id", False)),
    ("tag.team", OrderKey("tags", "team", False)),
    ("metrics.val.auc DESC", OrderKey("metrics", "val.auc", True)),
    ("metrics.`my key` DESC", OrderKey("metrics", "my key", True)),
    ('metrics."my key"', OrderKey("metrics", "my key", False)),
]


@pytest.mark.parametrize(("item", "key"), ORDER, ids=[i for i, _ in ORDER])
def test_order_by_item(item: str, key: OrderKey) -> None:
    assert parse_order_by([item]) == (key,)


def test_order_by_keeps_order_and_accepts_none_and_empty() -> None:
    assert parse_order_by(None) == ()
    assert parse_order_by([]) == ()
    assert parse_order_by(("metrics.auc DESC", "attributes.start_time")) == (
        OrderKey("metrics", "auc", True),
        OrderKey("attributes", "start_time", False),
    )


def test_order_by_lone_string_is_one_item() -> None:
    assert parse_order_by("metrics.auc DESC") == (OrderKey("metrics", "auc", True),)


ORDER_ERRORS = [
    ("metrics.auc DESCX", 12, "expected ASC or DESC"),
    ("metrics.auc DESC x", 17, "expected nothing after ASC or DESC"),
    ("metrics.auc up", 12, "unexpected 'up'"),
    ("metrics.auc > 1", 12, "expected ASC or DESC"),
    ("metric_x.auc", 0, "unknown entity 'metric_x'"),
    ("metrics", 7, "missing '.'"),
    ("attributes.foo", 11, "unknown attribute 'foo'"),
    ("", 0, "unexpected end"),
    ("   ", 3, "unexpected end"),
    ("metrics.`auc DESC", 8, "unterminated key"),
]


@pytest.mark.parametrize(
    ("item", "position", "fragment"), ORDER_ERRORS, ids=[e[0] for e in ORDER_ERRORS]
)
def test_order_by_errors(item: str, position: int, fragment: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_order_by(["metrics.ok", item])
    error = info.value
    assert error.field == "order_by"
    assert error.details == {"position": position}
    assert fragment in error.message
    assert f"at position {position} in order_by item {item!r}" in error.message
    _, echo, caret = error.message.split("\n")
    assert echo == "  " + item
    assert caret == "  " + " " * position + "^"
    assert error.remedy is not None and "metrics.auc DESC" in error.remedy


def test_order_by_rejects_non_strings() -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_order_by([1])  # type: ignore[list-item]
    assert info.value.field == "order_by"


# --- speed -----------------------------------------------------------------------------------


def test_parsing_two_thousand_filters_is_fast() -> None:
    text = (
        "metrics.val.auc >= 0.85 AND params.model IN ('rf', 'gbm', \"lr\") AND "
        "tags.`team name` LIKE 'ml-%' AND attributes.start_time > 1700000000000 AND "
        "params.C = 0.5 AND attributes.status != 'FAILED'"
    )
    started = time.perf_counter()
    for _ in range(2000):
        assert len(parse_filter(text)) == 6
    assert time.perf_counter() - started < 1.0
