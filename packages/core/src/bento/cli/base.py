"""The root group, built by a factory so tests can pass their own plugins: every command takes
the common options and reports errors in one line on stderr (no traceback unless --verbose)."""
from __future__ import annotations

import logging
import sys
from typing import Any, Optional

import click

from ..exceptions import BentoError
from ..plugins import PluginManager, default_manager
from .commands import COMMANDS
from .options import CliContext, common_options, echo_err, is_verbose, reset_output_state

__all__ = ["BentoGroup", "KNOWN_COMMANDS", "make_cli", "main"]

# Commands a plugin distribution provides: when none is installed, the command says which to install.
KNOWN_COMMANDS = {
    "serve": "bento-server",
    "yatai": "bento-yatai",
    "push": "bento-yatai",
    "pull": "bento-yatai",
    "spark-run": "bento-spark",
    "deployment": "bento-deploy",
    "containerize": "bento-deploy",
}


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
        reset_output_state()
        return super().main(*args, **kwargs)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BentoError as e:
            if is_verbose():
                raise
            echo_err(f"Error: {_one_line(e)}")
            sys.exit(e.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit, KeyboardInterrupt):
            raise
        except Exception as e:
            if is_verbose():
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


def make_cli(pm: Optional[PluginManager] = None) -> click.Group:
    """The root group with core's commands and every plugin's (`register_commands`), a plugin's
    replacing core's of the same name; commands reach `pm` and the configuration through
    `ctx.obj` (`options.pass_cli`)."""
    pm = pm if pm is not None else default_manager()

    @click.group(cls=BentoGroup, context_settings={"help_option_names": ["-h", "--help"]})
    @common_options
    @click.version_option(package_name="bento-core", prog_name="bento")
    @click.pass_context
    def cli(ctx: click.Context) -> None:
        """Bento: pack trained models into versioned bundles, run and serve them, share them.

        BENTO arguments are NAME:VERSION, NAME:latest, NAME or a bundle path.
        """
        logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
        ctx.obj = CliContext(pm)

    for cmd in COMMANDS:
        cli.add_command(cmd)
    pm.hook.register_commands(cli=cli)
    for name, dist in KNOWN_COMMANDS.items():
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
