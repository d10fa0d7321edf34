"""Root group, shared options and error handling: one clear line on stderr, no traceback
unless --verbose, a non-zero exit."""
from __future__ import annotations

import logging
import sys
from typing import Any, Callable, Optional

import click

from ..exceptions import BentoError

__all__ = ["BentoGroup", "common_options", "make_cli", "main", "echo_err", "is_quiet"]

# Commands a plugin provides: if none registers them, they answer with the pip command.
PLUGIN_COMMANDS = {
    "serve": "bento-server",
    "yatai": "bento-yatai",
    "push": "bento-yatai",
    "pull": "bento-yatai",
    "spark-run": "bento-spark",
}


class _State:
    verbose = False
    quiet = False


def is_quiet() -> bool:
    return _State.quiet


def echo_err(message: str) -> None:
    click.echo(message, err=True)


def _set_verbose(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        _State.verbose = True
        logging.getLogger("bento").setLevel(logging.DEBUG)
    return value


def _set_quiet(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        _State.quiet = True
        logging.getLogger("bento").setLevel(logging.ERROR)
    return value


def common_options(func: Callable) -> Callable:
    """-q/--quiet and --verbose, accepted by every command (and by the root group)."""
    func = click.option("-q", "--quiet", is_flag=True, expose_value=False, is_eager=True, callback=_set_quiet,
                        help="Print only results and errors.")(func)
    func = click.option("--verbose", is_flag=True, expose_value=False, is_eager=True, callback=_set_verbose,
                        help="Debug logging, and tracebacks on errors.")(func)
    return func


class BentoGroup(click.Group):
    """A group whose commands all take the common options and report errors in one line."""

    def add_command(self, cmd: click.Command, name: Optional[str] = None) -> None:
        if not any(p.name == "verbose" for p in cmd.params):
            common_options(cmd)  # decorating a Command appends to its params
        if isinstance(cmd, click.Group) and not isinstance(cmd, BentoGroup):
            for sub in cmd.commands.values():
                if not any(p.name == "verbose" for p in sub.params):
                    common_options(sub)
        super().add_command(cmd, name)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        _State.verbose = _State.quiet = False
        return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BentoError as e:
            if _State.verbose:
                raise
            echo_err(f"Error: {_one_line(e)}")
            sys.exit(e.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit, KeyboardInterrupt):
            raise
        except Exception as e:
            if _State.verbose:
                raise
            echo_err(f"Error: {type(e).__name__}: {_one_line(e)} (run with --verbose for the traceback)")
            sys.exit(1)


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__


def _missing_plugin_command(name: str, dist: str) -> click.Command:
    @click.command(name, context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
                   help=f"(needs {dist}: pip install {dist})", add_help_option=False)
    def cmd() -> None:
        raise BentoError(f"'bento {name}' is provided by the {dist} plugin: pip install {dist}")

    return cmd


def make_cli(pm: Any = None) -> click.Group:
    """The root group with core commands and every plugin's commands (`register_commands`)."""
    from ..plugins import default_plugin_manager

    pm = pm or default_plugin_manager()

    @click.group(cls=BentoGroup, context_settings={"help_option_names": ["-h", "--help"]})
    @common_options
    @click.version_option(package_name="bento-core", prog_name="bento")
    def cli() -> None:
        """Bento: pack trained models into versioned bundles, run and serve them, share them.

        BENTO arguments are NAME:VERSION, NAME:latest, NAME or a bundle path.
        """
        logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")

    pm.hook.register_commands(cli=cli)
    for name, dist in PLUGIN_COMMANDS.items():
        if name not in cli.commands:
            cli.add_command(_missing_plugin_command(name, dist))
    return cli


def main(argv: Optional[list] = None) -> None:
    """Console entry point; a broken plugin is reported without taking the CLI down."""
    try:
        cli = make_cli()
    except BentoError as e:
        echo_err(f"Error: {_one_line(e)}")
        sys.exit(e.exit_code)
    cli.main(args=argv, prog_name="bento")
