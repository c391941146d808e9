"""safe_relative_path: the one guard against path traversal."""

from __future__ import annotations

from pathlib import Path

import pytest

from podium.errors import InvalidInputError
from podium.store.paths import safe_relative_path


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("plots/confusion.png", "plots/confusion.png"),
        ("model/", "model"),
        ("model", "model"),
        ("./model/weights.bin", "model/weights.bin"),
        ("a//b///c", "a/b/c"),
        ("a/./b/.", "a/b"),
        ("projects/churn", "projects/churn"),
        ("...", "..."),
        ("..data/x..y", "..data/x..y"),
        ("a b/c d.txt", "a b/c d.txt"),
        ("résumé/日本.txt", "résumé/日本.txt"),
        ("%2e%2e/x", "%2e%2e/x"),  # stored literally: nothing below decodes it
    ],
)
def test_accepts_and_normalises_relative_paths(given: str, expected: str) -> None:
    assert safe_relative_path(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        "",
        "   ",
        ".",
        "./",
        "/",
        "/etc/passwd",
        "//server/share/x",
        "C:\\x",
        "C:/x",
        "c:x",
        "\\\\server\\share",
        "..",
        "../x",
        "a/../../x",
        "a/..",
        "a/b/../c",
        "./../x",
        "a\\..\\..\\x",
        "a\\b",
        "a\x00b",
        "a/\x00/b",
        "line\nbreak",
    ],
)
def test_refuses_paths_that_could_escape_or_are_empty(given: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        safe_relative_path(given)
    error = caught.value
    assert error.field == "path"
    assert error.code == "invalid-input"
    assert error.remedy is not None and "relative path inside the run/project" in error.remedy


def test_refuses_non_strings() -> None:
    with pytest.raises(InvalidInputError, match="expected a string"):
        safe_relative_path(b"plots/a.png")  # type: ignore[arg-type]


def test_message_names_what_came_and_why() -> None:
    with pytest.raises(InvalidInputError, match=r"'\.\./secret' is not a safe relative path.*\.\."):
        safe_relative_path("../secret")


def test_long_input_is_shortened_in_the_message() -> None:
    with pytest.raises(InvalidInputError) as caught:
        safe_relative_path("../" + "x" * 10_000)
    assert len(caught.value.message) < 400


@pytest.mark.parametrize(
    "given", ["a", "a/b/c", "./a/./b/", "x/.../y", "deep/" * 50 + "leaf", "a//b"]
)
def test_accepted_paths_resolve_inside_their_root(tmp_path: Path, given: str) -> None:
    root = tmp_path.resolve()
    resolved = (root / safe_relative_path(given)).resolve()
    assert resolved.is_relative_to(root)
    assert resolved != root
