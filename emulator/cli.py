"""The `emu` command."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import click

from emulator import __version__
from emulator.cockpit import commands
from emulator.cockpit.client import AdminClient, AdminError, discover
from emulator.cockpit.scaffold import ALIASES, CLOUDS
from emulator.config import BACKENDS, Settings
from emulator.console import LOG_FORMATS, JsonLogFormatter
from emulator.gateway import GatewayError, serve


def _port(name: str, default: int, cloud: str) -> click.Option:
    return click.option(
        f"--{name}-port",
        type=click.IntRange(0, 65535),
        default=default,
        show_default=True,
        envvar=f"EMU_{name.upper()}_PORT",
        help=f"Port of the {cloud} endpoint (0: any free port).",
    )


@click.group()
@click.version_option(__version__, prog_name="emu")
def main() -> None:
    """emu: OpenWhisk, AWS Lambda, Azure Functions and Google Cloud Functions on your laptop."""


@main.command()
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path), required=False)
@click.option(
    "--host", default="127.0.0.1", show_default=True, envvar="EMU_HOST", help="Address to listen on."
)
@_port("openwhisk", 3233, "OpenWhisk controller")
@_port("lambda", 3001, "AWS Lambda API")
@_port("apigateway", 3000, "API Gateway (SAM Api and HttpApi events)")
@_port("azure", 7071, "Azure Functions host")
@_port("gcp", 8080, "Google Cloud Functions")
@_port("admin", 3100, "emu admin")
@click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    default="auto",
    show_default=True,
    envvar="EMU_BACKEND",
    help="Where instances run: local processes, Docker containers, or Docker when an engine answers.",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="EMU_STATE_DIR",
    help="Where deployed functions, activations and logs are kept.  [default: PATH/.emu]",
)
@click.option(
    "--reload/--no-reload",
    default=True,
    envvar="EMU_RELOAD",
    help="Reload functions when their files change.",
)
@click.option(
    "--max-instances",
    type=click.IntRange(1),
    default=8,
    show_default=True,
    envvar="EMU_MAX_INSTANCES",
    help="Instances one function may run at once (an action's limits.instances overrides it).",
)
@click.option(
    "--max-queue",
    type=click.IntRange(0),
    default=64,
    show_default=True,
    envvar="EMU_MAX_QUEUE",
    help="Calls that may wait for a busy function before the cloud's throttling error.",
)
@click.option(
    "--prewarm",
    type=click.IntRange(0),
    default=1,
    show_default=True,
    envvar="EMU_PREWARM",
    help="Started, uninitialised instances kept ready per runtime, so a cold start is only /init.",
)
@click.option(
    "--azure-enable-auth",
    is_flag=True,
    envvar="EMU_AZURE_ENABLE_AUTH",
    help="Enforce Azure functions' authLevel with function keys (like func start --enableAuth).",
)
@click.option("--verbose", "-v", is_flag=True, envvar="EMU_VERBOSE", help="Log what the gateway does.")
@click.option(
    "--log-format",
    type=click.Choice(LOG_FORMATS),
    default="text",
    show_default=True,
    envvar="EMU_LOG_FORMAT",
    help="Console lines for people, or one JSON object per line for machines.",
)
def up(
    path: Path | None,
    host: str,
    openwhisk_port: int,
    lambda_port: int,
    apigateway_port: int,
    azure_port: int,
    gcp_port: int,
    admin_port: int,
    backend: str,
    state_dir: Path | None,
    reload: bool,
    max_instances: int,
    max_queue: int,
    prewarm: int,
    azure_enable_auth: bool,
    verbose: bool,
    log_format: str,
) -> None:
    """Serve the functions of the project in PATH (every cloud's manifest found below it)."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="%(name)s: %(message)s")
    if log_format == "json":
        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonLogFormatter())
    project = path.resolve() if path else None
    settings = Settings(
        project=project,
        host=host,
        openwhisk_port=openwhisk_port,
        lambda_port=lambda_port,
        apigateway_port=apigateway_port,
        azure_port=azure_port,
        gcp_port=gcp_port,
        admin_port=admin_port,
        backend=backend,
        state_dir=state_dir or ((project or Path.cwd()) / ".emu"),
        reload=reload and project is not None,
        max_instances_per_function=max_instances,
        max_queued_per_function=max_queue,
        prewarm_per_family=prewarm,
        log_format=log_format,
        azure_enable_auth=azure_enable_auth,
    )
    try:
        serve(settings)
    except GatewayError as error:
        raise click.ClickException(str(error)) from None


# -- commands that talk to a running `emu up` ---------------------------------------------------


def _gateway_options(function: Callable[..., None]) -> Callable[..., None]:
    function = click.option(
        "--state-dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar="EMU_STATE_DIR",
        help="State dir of the `emu up` to talk to.  [default: ./.emu, else port 3100]",
    )(function)
    return click.option(
        "--admin-url",
        envvar="EMU_ADMIN_URL",
        help="Admin URL of the `emu up` to talk to, e.g. http://127.0.0.1:3100.",
    )(function)


def _client(admin_url: str | None, state_dir: Path | None) -> AdminClient:
    try:
        return AdminClient(discover(admin_url, state_dir))
    except AdminError as error:
        raise click.ClickException(str(error)) from None


@main.command(name="ls")
@click.option("--json", "as_json", is_flag=True, help="Print the functions as JSON.")
@_gateway_options
def list_functions(as_json: bool, admin_url: str | None, state_dir: Path | None) -> None:
    """List the functions a running emu serves, with their URLs."""
    with commands.errors():
        click.echo(commands.list_functions(_client(admin_url, state_dir), as_json))


@main.command()
@click.argument("function")
@click.option("--data", "-d", help="The payload, as JSON.")
@click.option("--data-file", type=click.File("r"), help="A file holding the payload as JSON (- for stdin).")
@_gateway_options
def invoke(
    function: str, data: str | None, data_file: TextIO | None, admin_url: str | None, state_dir: Path | None
) -> None:
    """Invoke FUNCTION (PROVIDER/NAME, or a NAME only one cloud has) and print its result.

    The result goes to stdout; the status and the function's logs to stderr. The exit status is 1
    when the function failed.
    """
    with commands.errors():
        payload = commands.read_payload(data, data_file)
        ok = commands.invoke(_client(admin_url, state_dir), function, payload)
    if not ok:
        sys.exit(1)


@main.command()
@click.argument("name", required=False)
@click.option("--follow", "-f", is_flag=True, help="Keep printing invocations as they happen.")
@click.option(
    "--limit",
    "-n",
    type=click.IntRange(1, 1000),
    default=20,
    show_default=True,
    help="Past invocations to print.",
)
@_gateway_options
def logs(name: str | None, follow: bool, limit: int, admin_url: str | None, state_dir: Path | None) -> None:
    """Print recent invocations and their logs, of every function or of NAME."""
    with commands.errors():
        commands.logs(_client(admin_url, state_dir), name, limit, follow)


@main.command()
@click.argument("provider", type=click.Choice([*CLOUDS, *ALIASES], case_sensitive=False))
@click.argument("name")
@click.option(
    "--runtime",
    "-r",
    default="python",
    show_default=True,
    help="python, node, or the cloud's own runtime name.",
)
@click.option(
    "--path",
    "parent",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(),
    help="Folder to create the project in.  [default: the current folder]",
)
def init(provider: str, name: str, runtime: str, parent: Path) -> None:
    """Create the function NAME in PROVIDER's own project layout, ready for `emu up`."""
    with commands.errors():
        click.echo(commands.init(provider, name, runtime, parent))
