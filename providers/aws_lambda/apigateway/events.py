"""The event API Gateway hands a Lambda function for an HTTP request: payload format 1.0 as a REST
API's proxy integration builds it, 2.0 as an HTTP API builds it, and the 2.0 flavour function URLs use.

Pure: no I/O, no web framework. Where AWS's documents are silent, the behaviour follows what was
observed against real AWS (LocalStack's AWS-validated snapshots, and tests others ran on AWS).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import parse_qsl

ACCOUNT_ID = "000000000000"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Connection-level headers end at API Gateway; the function never sees them.
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
)
# Headers API Gateway sets itself, in the casing a REST event shows them.
TRACE_ID = "X-Amzn-Trace-Id"
FORWARDED_FOR = "X-Forwarded-For"
FORWARDED_PORT = "X-Forwarded-Port"
FORWARDED_PROTO = "X-Forwarded-Proto"
GATEWAY_SET = frozenset(name.lower() for name in (TRACE_ID, FORWARDED_FOR, FORWARDED_PORT, FORWARDED_PROTO))
# REST APIs sit behind CloudFront, which re-cases these two whatever the client sent.
REST_CANONICAL = {"authorization": "Authorization", "user-agent": "User-Agent"}
# The media types an HTTP API passes as a UTF-8 string; every other body, including one without a
# Content-Type and (surprisingly) form posts, arrives base64-encoded. The docs don't list them;
# this split was observed on AWS (ministackorg/ministack#766).
V2_TEXT_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str  # raw, percent-encoding kept
    raw_query: str  # without "?"
    headers: list[tuple[str, str]]  # in order as received
    body: bytes
    source_ip: str
    domain_name: str  # the Host header's value
    request_id: str
    time_epoch_ms: int
    protocol: str = "HTTP/1.1"


@dataclass(frozen=True)
class RouteMatch:
    resource: str  # the declared path template, e.g. "/users/{id}"
    route_key: str  # "GET /users/{id}", "ANY /{proxy+}", "$default"
    path_parameters: dict[str, str] | None
    stage: str
    api_id: str
    stage_variables: dict[str, str] | None = None


# -- shared pieces ---------------------------------------------------------------------------


def header_value(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    """The last value of a header, matched case-insensitively."""
    wanted = name.lower()
    found = None
    for key, value in headers:
        if key.lower() == wanted:
            found = value
    return found


def media_type(content_type: str | None) -> str:
    """`Text/HTML; charset=utf-8` -> `text/html`."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_binary_media_type(media: str, binary_media_types: Sequence[str]) -> bool:
    """Whether a REST API's binaryMediaTypes list covers `media` (entries may use `*` wildcards)."""
    for pattern in binary_media_types:
        pattern = pattern.strip().lower()
        if pattern == "*/*" or (media and fnmatchcase(media, pattern)):
            return True
    return False


def request_time(epoch_ms: int) -> str:
    """`09/Apr/2015:12:34:56 +0000`, with English month names whatever the locale."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=timezone.utc)
    return f"{moment:%d}/{MONTHS[moment.month - 1]}/{moment:%Y:%H:%M:%S} +0000"


def query_pairs(raw_query: str) -> list[tuple[str, str]]:
    """Percent-decoded (`+` as a space, as AWS decodes it); a key without `=` gets ""."""
    return parse_qsl(raw_query, keep_blank_values=True, errors="replace")


def short_id(seed: str, length: int) -> str:
    """A stable lower-case id, like the 6-character resource and deployment ids AWS prints."""
    digest = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
    chars = []
    for _ in range(length):
        digest, index = divmod(digest, len(alphabet))
        chars.append(alphabet[index])
    return "".join(chars)


def trace_id(request: HttpRequest) -> str:
    """An X-Ray root id: version, the epoch second in hex, 24 hex digits."""
    unique = hashlib.sha256(request.request_id.encode()).hexdigest()[:24]
    return f"Root=1-{request.time_epoch_ms // 1000:08x}-{unique}"


def forwarded_port(domain_name: str) -> str:
    _, colon, port = domain_name.rpartition(":")
    return port if colon and port.isdigit() else "80"


def gateway_headers(request: HttpRequest) -> list[tuple[str, str]]:
    """The request's headers as API Gateway passes them on: hop-by-hop ones dropped, and the
    trace and X-Forwarded-* headers it sets appended (the client's X-Forwarded-For extended)."""
    kept = [
        (name, value)
        for name, value in request.headers
        if name.lower() not in HOP_BY_HOP and name.lower() not in GATEWAY_SET
    ]
    client_chain = header_value(request.headers, FORWARDED_FOR)
    forwarded_for = f"{client_chain}, {request.source_ip}" if client_chain else request.source_ip
    return [
        *kept,
        (TRACE_ID, header_value(request.headers, TRACE_ID) or trace_id(request)),
        (FORWARDED_FOR, forwarded_for),
        (FORWARDED_PORT, forwarded_port(request.domain_name)),
        # emu serves plain HTTP; AWS's endpoints are HTTPS-only and say "https" here.
        (FORWARDED_PROTO, "http"),
    ]


# -- payload format 1.0: REST APIs -------------------------------------------------------------


def rest_event(
    request: HttpRequest, match: RouteMatch, *, binary_media_types: Sequence[str] = ()
) -> dict[str, Any]:
    """Payload format 1.0, as a REST API (`Events: Type: Api`) proxy integration builds it.

    `binary_media_types` is the API's BinaryMediaTypes; without any, a REST API passes every
    body as a UTF-8 string."""
    headers = rest_headers(request)
    query = query_pairs(request.raw_query)
    body, encoded = rest_body(request, binary_media_types)
    return {
        "resource": match.resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": last_values(headers),
        "multiValueHeaders": all_values(headers),
        "queryStringParameters": last_values(query, fold_case=False),
        "multiValueQueryStringParameters": all_values(query, fold_case=False),
        "pathParameters": match.path_parameters or None,
        "stageVariables": match.stage_variables or None,
        "requestContext": rest_context(request, match),
        "body": body,
        "isBase64Encoded": encoded,
    }


def rest_headers(request: HttpRequest) -> list[tuple[str, str]]:
    """REST events never carry Content-Length (observed on AWS)."""
    return [
        (REST_CANONICAL.get(name.lower(), name), value)
        for name, value in gateway_headers(request)
        if name.lower() != "content-length"
    ]


def last_values(pairs: list[tuple[str, str]], *, fold_case: bool = True) -> dict[str, str] | None:
    """One value per name, the last one sent; None (JSON null) when there are none."""
    grouped = all_values(pairs, fold_case=fold_case)
    return {name: values[-1] for name, values in grouped.items()} if grouped else None


def all_values(pairs: list[tuple[str, str]], *, fold_case: bool = True) -> dict[str, list[str]] | None:
    """Every value per name, in order. Header names group case-insensitively under the first
    spelling seen; query keys are case-sensitive."""
    grouped: dict[str, list[str]] = {}
    spelling: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower() if fold_case else name
        grouped.setdefault(spelling.setdefault(key, name), []).append(value)
    return grouped or None


def rest_body(request: HttpRequest, binary_media_types: Sequence[str]) -> tuple[str | None, bool]:
    if not request.body:
        return None, False
    content_type = media_type(header_value(request.headers, "content-type"))
    if is_binary_media_type(content_type, binary_media_types):
        return base64.b64encode(request.body).decode("ascii"), True
    # Without a matching binary media type a REST API converts the body to a UTF-8 string,
    # mangling bytes that aren't UTF-8 ("Content type conversions in API Gateway").
    return request.body.decode("utf-8", errors="replace"), False


def rest_context(request: HttpRequest, match: RouteMatch) -> dict[str, Any]:
    return {
        "accountId": ACCOUNT_ID,
        "apiId": match.api_id,
        "deploymentId": short_id(f"{match.api_id}/{match.stage}", 6),
        "domainName": request.domain_name,
        "domainPrefix": match.api_id,
        "extendedRequestId": extended_request_id(request.request_id),
        "httpMethod": request.method,
        "identity": identity(request),
        "path": f"/{match.stage}{request.path}",
        "protocol": request.protocol,
        "requestId": request.request_id,
        "requestTime": request_time(request.time_epoch_ms),
        "requestTimeEpoch": request.time_epoch_ms,
        "resourceId": short_id(f"{match.api_id}{match.resource}", 6),
        "resourcePath": match.resource,
        "stage": match.stage,
    }


def extended_request_id(request_id: str) -> str:
    """AWS's look: 16 base64 characters ending in `=`, e.g. `BQGojGLEoAMFdnw=`."""
    return base64.b64encode(hashlib.sha256(request_id.encode()).digest()[:11]).decode("ascii")


def identity(request: HttpRequest) -> dict[str, str | None]:
    """The caller as an unauthenticated REST method sees it: every IAM/Cognito key null."""
    return {
        "accessKey": None,
        "accountId": None,
        "caller": None,
        "cognitoAuthenticationProvider": None,
        "cognitoAuthenticationType": None,
        "cognitoIdentityId": None,
        "cognitoIdentityPoolId": None,
        "principalOrgId": None,
        "sourceIp": request.source_ip,
        "user": None,
        "userAgent": header_value(request.headers, "user-agent"),
        "userArn": None,
    }


# -- payload format 2.0: HTTP APIs and function URLs -------------------------------------------


def http_event(request: HttpRequest, match: RouteMatch) -> dict[str, Any]:
    """Payload format 2.0, as an HTTP API (`Type: HttpApi`) builds it: pathParameters and
    stageVariables are left out when there are none."""
    event = v2_event(request, match.route_key)
    event["requestContext"] = v2_context(
        request, account_id=ACCOUNT_ID, api_id=match.api_id, route_key=match.route_key, stage=match.stage
    )
    if match.path_parameters:
        event["pathParameters"] = match.path_parameters
    if match.stage_variables:
        event["stageVariables"] = match.stage_variables
    return event


def function_url_event(request: HttpRequest, url_id: str, *, auth_type: str = "NONE") -> dict[str, Any]:
    """A function URL's event: format 2.0 with routeKey and stage `$default`, the URL id as apiId
    and domainPrefix, and pathParameters and stageVariables null (as the Lambda docs show them)."""
    event = v2_event(request, "$default")
    context = v2_context(
        request,
        # An AuthType NONE URL has no caller account to name.
        account_id="anonymous" if auth_type == "NONE" else ACCOUNT_ID,
        api_id=url_id,
        route_key="$default",
        stage="$default",
    )
    if auth_type == "AWS_IAM":
        context["authorizer"] = iam_authorizer(request)
    event["requestContext"] = context
    event["pathParameters"] = None
    event["stageVariables"] = None
    return event


def v2_event(request: HttpRequest, route_key: str) -> dict[str, Any]:
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.path,
        "rawQueryString": request.raw_query,
    }
    cookies = request_cookies(request.headers)
    if cookies:
        event["cookies"] = cookies
    event["headers"] = v2_headers(request)
    query = all_values(query_pairs(request.raw_query), fold_case=False)
    if query:
        event["queryStringParameters"] = {key: ",".join(values) for key, values in query.items()}
    body, encoded = v2_body(request)
    if body is not None:
        event["body"] = body
    event["isBase64Encoded"] = encoded
    return event


def request_cookies(headers: Iterable[tuple[str, str]]) -> list[str]:
    """Each `name=value` of every Cookie header, in order."""
    cookies = []
    for name, value in headers:
        if name.lower() == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
    return cookies


def v2_headers(request: HttpRequest) -> dict[str, str]:
    """Lower-case names, repeated headers joined with commas; cookies go to `cookies` instead."""
    joined: dict[str, list[str]] = {}
    for name, value in gateway_headers(request):
        if name.lower() != "cookie":
            joined.setdefault(name.lower(), []).append(value)
    return {name: ",".join(values) for name, values in joined.items()}


def v2_body(request: HttpRequest) -> tuple[str | None, bool]:
    """No body, no `body` key; text types as a string, anything else base64."""
    if not request.body:
        return None, False
    content_type = media_type(header_value(request.headers, "content-type"))
    if content_type.startswith("text/") or content_type in V2_TEXT_TYPES:
        try:
            return request.body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass  # a "text" body that isn't UTF-8 is passed losslessly instead
    return base64.b64encode(request.body).decode("ascii"), True


def v2_context(
    request: HttpRequest, *, account_id: str, api_id: str, route_key: str, stage: str
) -> dict[str, Any]:
    return {
        "accountId": account_id,
        "apiId": api_id,
        "domainName": request.domain_name,
        "domainPrefix": api_id,
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": header_value(request.headers, "user-agent") or "",
        },
        "requestId": request.request_id,
        "routeKey": route_key,
        "stage": stage,
        "time": request_time(request.time_epoch_ms),
        "timeEpoch": request.time_epoch_ms,
    }


def iam_authorizer(request: HttpRequest) -> dict[str, Any]:
    """The SigV4 caller of an AWS_IAM URL. emu has no IAM users: everyone is the account's root."""
    authorization = header_value(request.headers, "authorization") or ""
    access_key = authorization.partition("Credential=")[2].partition("/")[0] or None
    return {
        "iam": {
            "accessKey": access_key,
            "accountId": ACCOUNT_ID,
            "callerId": ACCOUNT_ID,
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": f"arn:aws:iam::{ACCOUNT_ID}:root",
            "userId": ACCOUNT_ID,
        }
    }
