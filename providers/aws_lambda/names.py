"""Function names, ARNs and qualifiers, as Lambda accepts and prints them."""

from __future__ import annotations

import re

from providers.aws_lambda.errors import LambdaError, invalid_parameter, not_found

REGION = "us-east-1"
ACCOUNT = "000000000000"
LATEST = "$LATEST"
NAME_PATTERN = re.compile(r"\A[a-zA-Z0-9-_]{1,64}\Z")
# The service model's FunctionName pattern: full ARN, partial ARN or bare name, with an optional qualifier.
# ASCII: AWS's `\d` is 0-9, where Python's would also take the digits of other scripts.
REFERENCE_PATTERN = re.compile(
    r"\A(arn:(aws[a-zA-Z-]*)?:lambda:)?(?P<region>[a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(?P<account>\d{12}:)?"
    r"(function:)?(?P<name>[a-zA-Z0-9-_\.]+)(:(?P<qualifier>\$LATEST|[a-zA-Z0-9-_]+))?\Z",
    re.ASCII,
)


def function_arn(name: str, qualifier: str | None = None) -> str:
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


def parse_reference(reference: str, qualifier: str | None = None) -> tuple[str, str | None]:
    """`name`, `name:qualifier`, a partial or a full ARN -> (name, qualifier)."""
    match = REFERENCE_PATTERN.match(reference)
    if match is None or len(reference) > 170:
        raise LambdaError(
            400,
            "ValidationException",
            f"1 validation error detected: Value '{reference}' at 'functionName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: "
            r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?"
            r"([a-zA-Z0-9-_\.]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?",
        )
    name = match.group("name")
    derived = match.group("qualifier")
    if derived and qualifier and derived != qualifier:
        raise invalid_parameter(
            "The derived qualifier from the function name does not match the specified qualifier."
        )
    return name, derived or qualifier


def check_qualifier(name: str, qualifier: str | None) -> None:
    """emu keeps one version of each function, $LATEST: any other qualifier names nothing."""
    if qualifier not in (None, LATEST):
        raise not_found(function_arn(name, qualifier))
