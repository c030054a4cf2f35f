"""OpenWhisk entity names, `pkg/name` paths and web action paths."""

from __future__ import annotations

import string

from hypothesis import example, given
from hypothesis import strategies as st

from providers.openwhisk.entities import check_name, split_path
from providers.openwhisk.errors import OpenWhiskError
from providers.openwhisk.web import EXTENSIONS, split_web_path

WORD = string.ascii_letters + string.digits + "_"
# OpenWhisk's own rule (Java's `\w` is ASCII): a word character, then up to 255 more of
# `\w@ .&-`, the last of them not a space.
names = st.one_of(
    st.sampled_from(WORD),
    st.builds(
        lambda first, middle, last: first + middle + last,
        st.sampled_from(WORD),
        st.text(WORD + "@ .&-", max_size=20),
        st.sampled_from(WORD + "@.&-"),
    ),
)
pieces = st.sampled_from(
    ["a", "Z", "9", "_", "/", " ", ".", "..", "@", "&", "-", "é", "\u0661", "\x00", "%2F", "\n"]
)
near_paths = st.lists(pieces, max_size=10).map("".join)
texts = st.one_of(near_paths, st.text(max_size=40))


@given(names)
def test_a_valid_name_is_accepted_and_alone_is_a_path(name: str) -> None:
    check_name(name)
    assert split_path(name) == (None, name)


@given(names, names)
def test_a_package_and_a_name_round_trip(package: str, name: str) -> None:
    assert split_path(f"{package}/{name}") == (package, name)


@given(texts)
@example("\u00e9")  # a letter outside ASCII, which Python's `\w` would take
@example("a\u0661")
def test_any_name_is_accepted_only_under_openwhisks_rule(text: str) -> None:
    try:
        check_name(text)
    except OpenWhiskError as error:
        assert error.status == 400
        return
    assert text.isascii() and 1 <= len(text) <= 256
    assert text[0] in WORD and not text.endswith(" ")
    assert "/" not in text and text not in (".", "..")


@given(texts)
def test_any_path_is_split_into_valid_names_or_refused(text: str) -> None:
    try:
        package, name = split_path(text)
    except OpenWhiskError as error:
        assert error.status in (400, 404)
        return
    for part in (package, name):
        if part is not None:
            check_name(part)
    assert text == (f"{package}/{name}" if package else name)


@given(
    names,
    st.one_of(st.just("default"), names),
    names,
    st.sampled_from(("", *EXTENSIONS)),
    st.lists(texts, max_size=3),
)
def test_a_web_path_round_trips(
    namespace: str, package: str, action: str, extension: str, rest: list[str]
) -> None:
    suffix = f".{extension}" if extension else ""
    path = "/".join([namespace, package, action + suffix, *rest])
    got_namespace, action_path, got_extension, got_rest = split_web_path(path)
    assert got_namespace == namespace
    # An action whose own name ends in an extension (`a.json`) is read as that extension: as OpenWhisk does.
    expected_action, dot, tail = (action + suffix).rpartition(".")
    if not (dot and tail in EXTENSIONS):
        expected_action = action + suffix
    assert action_path == (expected_action if package == "default" else f"{package}/{expected_action}")
    assert got_extension == (tail if dot and tail in EXTENSIONS else "http")
    assert got_rest == ("/" + "/".join(rest) if rest else "")


@given(texts)
def test_any_web_path_is_split_or_not_found(text: str) -> None:
    try:
        namespace, action_path, extension, rest = split_web_path(text)
    except OpenWhiskError as error:
        assert error.status == 404
        return
    assert namespace and "/" not in namespace
    assert extension in EXTENSIONS
    assert rest == "" or rest.startswith("/")
    assert action_path.count("/") <= 1
