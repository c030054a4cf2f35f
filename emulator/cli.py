"""The `emu` command."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from emulator import __version__
from emulator.config import BACKENDS, Settings
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
@click.option("--verbose", "-v", is_flag=True, envvar="EMU_VERBOSE", help="Log what the gateway does.")
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
    verbose: bool,
) -> None:
    """Serve the functions of the project in PATH (every cloud's manifest found below it)."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="%(name)s: %(message)s")
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
    )
    try:
        serve(settings)
    except GatewayError as error:
        raise click.ClickException(str(error)) from None
