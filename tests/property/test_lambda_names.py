"""Lambda function names, partial and full ARNs, qualifiers: what is accepted, and what comes out."""

from __future__ import annotations

import re
import string

from hypothesis import example, given
from hypothesis import strategies as st

from providers.aws_lambda.errors import LambdaError
from providers.aws_lambda.functions import check_name
from providers.aws_lambda.names import ACCOUNT, LATEST, function_arn, parse_reference

NAME_CHARS = string.ascii_letters + string.digits + "-_"
names = st.text(NAME_CHARS, min_size=1, max_size=64)
# `us-east-1:7` is a region and a name to AWS's pattern too, and `123456789012:7` an account: such
# names are only unambiguous without a qualifier.
unambiguous = names.filter(lambda name: not re.fullmatch(r"[a-z]{2}(-gov)?-[a-z]+-\d|\d{12}", name))
qualifiers = st.one_of(st.just(LATEST), st.text(NAME_CHARS, min_size=1, max_size=20))
# Text near the grammar finds more edge cases than uniform unicode: ARN pieces, separators, digits
# of other scripts (which Python's `\d` would take and AWS does not).
pieces = st.sampled_from(
    ["arn", ":", "aws", "aws-cn", "lambda", "us-east-", "1", "us-east-1", "function", ACCOUNT, LATEST, "$", ".", "..", "/",
     "-", "_", "a", "Z", "9", "\u0661", "é", " ", "\n", "\x00", "us-gov-west-1"]
)  # fmt: skip
near_references = st.lists(pieces, max_size=12).map("".join)
references = st.one_of(near_references, st.text(max_size=80))


@given(unambiguous)
def test_a_valid_name_round_trips_in_every_spelling(name: str) -> None:
    for reference in (name, f"{ACCOUNT}:function:{name}", function_arn(name)):
        assert parse_reference(reference) == (name, None)
    assert parse_reference(function_arn(name, LATEST)) == (name, LATEST)
    assert parse_reference(f"{name}:{LATEST}") == (name, LATEST)
    assert check_name(name) == name


@given(unambiguous, qualifiers)
def test_a_qualifier_comes_from_the_reference_or_the_parameter(name: str, qualifier: str) -> None:
    assert parse_reference(f"{name}:{qualifier}") == (name, qualifier)
    assert parse_reference(name, qualifier) == (name, qualifier)
    assert parse_reference(f"{name}:{qualifier}", qualifier) == (name, qualifier)


@given(names, qualifiers, qualifiers)
def test_qualifiers_that_disagree_are_refused(name: str, derived: str, given_: str) -> None:
    if derived == given_:
        return
    try:
        parse_reference(function_arn(name, derived), given_)
    except LambdaError as error:
        assert error.status == 400
    else:
        raise AssertionError("a qualifier that disagrees with the ARN was accepted")


@given(references, st.one_of(st.none(), qualifiers))
@example("arn:aws:lambda:us-east-\u0661:000000000000:function:f", None)  # an Arabic-Indic digit
@example("\u0661" * 12 + ":function:f", None)
def test_any_reference_is_parsed_or_refused_with_a_lambda_error(
    reference: str, qualifier: str | None
) -> None:
    try:
        name, _ = parse_reference(reference, qualifier)
    except LambdaError as error:
        assert error.status == 400
        return
    # What is accepted is ASCII, as AWS's pattern is, and cannot name a file outside a folder.
    assert reference.isascii()
    assert name and "/" not in name and ":" not in name and "\x00" not in name


@given(st.one_of(references, st.integers(), st.none(), st.lists(st.text(max_size=3), max_size=2)))
def test_a_created_name_is_a_safe_path_component_or_refused(value: object) -> None:
    try:
        name = check_name(value)
    except LambdaError as error:
        assert error.status == 400
        return
    assert isinstance(name, str) and name.isascii() and 1 <= len(name) <= 64
    assert name not in (".", "..") and "/" not in name and "\\" not in name
