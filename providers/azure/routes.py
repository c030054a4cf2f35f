"""ASP.NET Core route templates, as the Functions host maps HTTP functions: parse, match, order.

A template is `/`-separated segments of literal text and parameters: `{id}`, `{id?}`,
`{id=7}`, `{id:int}`, `{id:int:min(1)?}`, and a last `{*rest}` (or `{**rest}`) catch-all.
Literals match case-insensitively; a request path must match the whole template. Routes are
tried in ASP.NET's order: more literal segments first, catch-alls last.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from urllib.parse import unquote

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)


class RouteError(ValueError):
    """A template the host would refuse to load."""


@dataclass
class Parameter:
    name: str
    optional: bool = False
    default: str | None = None
    catch_all: bool = False
    constraints: list[Callable[[str], bool]] = field(default_factory=list)


@dataclass
class Segment:
    """One path segment: literal text and parameters, e.g. `files`, `{id:int}` or `{name}.{ext}`."""

    parts: list[str | Parameter]

    @property
    def parameter(self) -> Parameter | None:
        """The parameter when the segment is only one parameter."""
        return self.parts[0] if len(self.parts) == 1 and isinstance(self.parts[0], Parameter) else None

    def precedence(self) -> int:
        # ASP.NET's RoutePrecedence: literal 1, complex 2, constrained 3, plain 4, catch-all 5.
        if all(isinstance(part, str) for part in self.parts):
            return 1
        parameter = self.parameter
        if parameter is None:
            return 2
        if parameter.catch_all:
            return 5
        return 3 if parameter.constraints else 4


class RouteTemplate:
    def __init__(self, template: str) -> None:
        self.template = template
        self.segments = [parse_segment(text, template) for text in split_segments(template)]
        for index, segment in enumerate(self.segments):
            parameter = segment.parameter
            if parameter is not None and parameter.catch_all and index != len(self.segments) - 1:
                raise RouteError(f"{template}: a catch-all parameter must be the last segment")
        names = [p.name.lower() for s in self.segments for p in s.parts if isinstance(p, Parameter)]
        if len(names) != len(set(names)):
            raise RouteError(f"{template}: a parameter name appears more than once")
        self._regex = re.compile(self._pattern(), re.IGNORECASE | re.DOTALL)

    @property
    def parameters(self) -> list[Parameter]:
        return [part for segment in self.segments for part in segment.parts if isinstance(part, Parameter)]

    def precedence(self) -> tuple[int, ...]:
        return tuple(segment.precedence() for segment in self.segments)

    def match(self, path: str) -> dict[str, str | None] | None:
        """Route values for a request path (without query), or None when it does not match."""
        found = self._regex.fullmatch(path.strip("/"))
        if found is None:
            return None
        values: dict[str, str | None] = {}
        for index, parameter in enumerate(self.parameters):
            raw = found.group(f"p{index}")
            value = unquote(raw) if raw not in (None, "") else None
            if value is None:
                value = parameter.default
            if value is not None and not all(check(value) for check in parameter.constraints):
                return None
            if value is None and not (parameter.optional or parameter.catch_all):
                return None
            values[parameter.name] = value
        return values

    def _pattern(self) -> str:
        pattern = ""
        counter = 0
        for index, segment in enumerate(self.segments):
            slash = "/" if index else ""
            parameter = segment.parameter
            if parameter is not None:
                body = f"(?P<p{counter}>.*)" if parameter.catch_all else f"(?P<p{counter}>[^/]+)"
                counter += 1
                if parameter.optional or parameter.default is not None or parameter.catch_all:
                    pattern += f"(?:{slash}{body})?"
                else:
                    pattern += slash + body
                continue
            pieces = []
            for part in segment.parts:
                if isinstance(part, str):
                    pieces.append(re.escape(part))
                else:
                    pieces.append(f"(?P<p{counter}>[^/]+?)" + ("?" if part.optional else ""))
                    counter += 1
            pattern += slash + "".join(pieces)
        return pattern


def split_segments(template: str) -> list[str]:
    """Split on `/` outside of `{...}` (a regex constraint may contain a slash)."""
    template = template.strip()
    if template.startswith("~/"):
        template = template[2:]
    segments, depth, current = [], 0, ""
    for char in template.strip("/"):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        if char == "/" and depth == 0:
            segments.append(current)
            current = ""
        else:
            current += char
    if depth != 0:
        raise RouteError(f"{template}: unbalanced braces")
    segments.append(current)
    if segments == [""]:
        return []
    if any(segment == "" for segment in segments):
        raise RouteError(f"{template}: empty segment")
    return segments


def parse_segment(text: str, template: str) -> Segment:
    parts: list[str | Parameter] = []
    index = 0
    while index < len(text):
        if text[index] == "{":
            end = parameter_end(text, index)
            if end < 0:
                raise RouteError(f"{template}: unterminated parameter in '{text}'")
            parts.append(parse_parameter(text[index + 1 : end], template))
            index = end + 1
        elif text[index] == "}":
            raise RouteError(f"{template}: stray '}}' in '{text}'")
        else:
            end = text.find("{", index)
            end = len(text) if end < 0 else end
            parts.append(text[index:end])
            index = end
    for left, right in itertools.pairwise(parts):
        if isinstance(left, Parameter) and isinstance(right, Parameter):
            raise RouteError(f"{template}: two parameters must be separated by literal text")
    return Segment(parts)


def parameter_end(text: str, start: int) -> int:
    """Index of the `}` closing the parameter opened at `start`, skipping constraint arguments."""
    depth = 0
    for index in range(start + 1, len(text)):
        char = text[index]
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif char == "}" and depth == 0:
            return index
    return -1


PARAMETER = re.compile(r"\A(?P<star>\*{1,2})?(?P<name>[^:=?*{}]+)(?P<rest>.*)\Z", re.DOTALL)


def parse_parameter(text: str, template: str) -> Parameter:
    found = PARAMETER.match(text.strip())
    if found is None:
        raise RouteError(f"{template}: invalid parameter '{{{text}}}'")
    parameter = Parameter(found["name"].strip(), catch_all=bool(found["star"]))
    rest = found["rest"]
    if rest.endswith("?") and not rest.endswith("\\?"):
        parameter.optional = True
        rest = rest[:-1]
    default = split_default(rest)
    if default is not None:
        rest, parameter.default = default
    for name, argument in split_constraints(rest, template):
        parameter.constraints.append(make_constraint(name, argument, template))
    return parameter


def split_default(rest: str) -> tuple[str, str] | None:
    depth = 0
    for index, char in enumerate(rest):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "=" and depth == 0:
            return rest[:index], rest[index + 1 :]
    return None


def split_constraints(rest: str, template: str) -> list[tuple[str, str | None]]:
    """`:int:min(1)` -> [("int", None), ("min", "1")]."""
    found: list[tuple[str, str | None]] = []
    index = 0
    while index < len(rest):
        if rest[index] != ":":
            raise RouteError(f"{template}: invalid constraint text '{rest}'")
        index += 1
        name_end = index
        while name_end < len(rest) and rest[name_end] not in ":(":
            name_end += 1
        name = rest[index:name_end]
        argument = None
        if name_end < len(rest) and rest[name_end] == "(":
            depth, close = 0, -1
            for position in range(name_end, len(rest)):
                if rest[position] == "(":
                    depth += 1
                elif rest[position] == ")":
                    depth -= 1
                    if depth == 0:
                        close = position
                        if close + 1 == len(rest) or rest[close + 1] == ":":
                            break
            if close < 0:
                raise RouteError(f"{template}: unclosed constraint argument in '{rest}'")
            argument = rest[name_end + 1 : close]
            name_end = close + 1
        found.append((name, argument))
        index = name_end
    return found


def _parse_int(value: str, bounds: tuple[int, int]) -> bool:
    try:
        number = int(value)
    except ValueError:
        return False
    return bounds[0] <= number <= bounds[1] and re.fullmatch(r"[+-]?\d+", value) is not None


def _parse_float(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return value.strip().lower() not in ("nan", "inf", "-inf", "+inf", "infinity", "-infinity")


def _parse_decimal(value: str) -> bool:
    try:
        return Decimal(value).is_finite()
    except InvalidOperation:
        return False


def _parse_datetime(value: str) -> bool:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _parse_guid(value: str) -> bool:
    try:
        uuid.UUID(value.strip("{}()"))
    except ValueError:
        return False
    return True


def _integers(argument: str | None, count: int, name: str, template: str) -> list[int]:
    try:
        numbers = [int(item) for item in (argument or "").split(",")]
    except ValueError:
        numbers = []
    if len(numbers) != count:
        raise RouteError(f"{template}: constraint '{name}' needs {count} integer argument(s)")
    return numbers


def make_constraint(name: str, argument: str | None, template: str) -> Callable[[str], bool]:
    kind = name.lower()
    simple: dict[str, Callable[[str], bool]] = {
        "int": lambda value: _parse_int(value, INT32),
        "long": lambda value: _parse_int(value, INT64),
        "bool": lambda value: value.lower() in ("true", "false"),
        "datetime": _parse_datetime,
        "decimal": _parse_decimal,
        "double": _parse_float,
        "float": _parse_float,
        "guid": _parse_guid,
        "alpha": lambda value: re.fullmatch(r"[a-zA-Z]+", value) is not None,
    }
    if kind in simple:
        return simple[kind]
    if kind in ("min", "max"):
        (limit,) = _integers(argument, 1, name, template)
        if kind == "min":
            return lambda value: _parse_int(value, INT64) and int(value) >= limit
        return lambda value: _parse_int(value, INT64) and int(value) <= limit
    if kind == "range":
        low, high = _integers(argument, 2, name, template)
        return lambda value: _parse_int(value, INT64) and low <= int(value) <= high
    if kind in ("minlength", "maxlength"):
        (limit,) = _integers(argument, 1, name, template)
        if kind == "minlength":
            return lambda value: len(value) >= limit
        return lambda value: len(value) <= limit
    if kind == "length":
        bounds = (argument or "").split(",")
        low, high = _integers(argument, len(bounds), name, template) * (2 if len(bounds) == 1 else 1)
        return lambda value: low <= len(value) <= high
    if kind == "regex":
        # Route delimiters are doubled inside a template: `\\d{{3}}` is the regex `\\d{3}`.
        pattern = (argument or "").replace("{{", "{").replace("}}", "}").replace("[[", "[").replace("]]", "]")
        try:
            compiled = re.compile(pattern, re.IGNORECASE)
        except re.error as error:
            raise RouteError(f"{template}: invalid regex constraint: {error}") from None
        # ASP.NET's regex constraint is a search, not a full match: anchors are up to the author.
        return lambda value: compiled.search(value) is not None
    raise RouteError(f"{template}: unknown route constraint '{name}'")
