"""The `portannot` command group, its shared options and its error handling."""

from __future__ import annotations

import functools
import gc
import os
import re
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import click

from portannot import __version__
from portannot.errors import (
    BROKEN_PIPE,
    BrokenPipeOutput,
    ExitCode,
    InputError,
    OutputError,
    PortannotError,
)
from portannot.output.stdio import (
    STDIN_CLOSED,
    STDOUT_CLOSED,
    standard_streams,
    stdin_closed,
    stdout_closed,
)
from portannot.printable import one_line

if TYPE_CHECKING:
    import logging

    from rich.console import Console
    from rich.segment import Segment
    from rich.table import Table

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class Interrupted(PortannotError):
    """Ctrl-C (SIGINT) while a command ran."""

    exit_code = ExitCode.INTERRUPTED


class LazyGroup(click.Group):
    """Each sub-command's module is imported only when that command runs (or help
    lists it): `flows` does not pay for `lookup`'s imports, nor `--version` for any."""

    lazy = {
        "flows": "portannot.cli.flows:flows",
        "lookup": "portannot.cli.lookup:lookup",
        "packets": "portannot.cli.packets:packets",
        "registry": "portannot.cli.registry:registry",
        "summary": "portannot.cli.summary:summary",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy])

    def invoke(self, ctx: click.Context) -> Any:
        # click would turn a broken pipe into a silent exit 1; ours is a documented 5
        try:
            _end_start_up_guard()  # here, where a KeyboardInterrupt is caught as ours:
            # before, click's own handler printed an empty line above "interrupted"
            return super().invoke(ctx)
        except BrokenPipeError:
            raise BrokenPipeOutput(BROKEN_PIPE) from None
        except KeyboardInterrupt:
            # click turns it into Abort after printing an empty line on stderr: a second
            # line above ours
            raise Interrupted(_interruption()) from None
        except Exception:
            if _INTERRUPTED:  # what the interrupt broke, not an error of the command
                raise Interrupted(_interruption()) from None
            raise

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            import importlib

            module, attr = self.lazy[name].split(":")
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)


def _version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    # which kernels a run gets tells someone timing it whether the install built them
    if not value or ctx.resilient_parsing:
        return
    from portannot.compiled import MODE

    click.echo(f"portannot, version {__version__} (kernels: {MODE})")
    ctx.exit()


@click.group(cls=LazyGroup, context_settings=CONTEXT)
@click.option("-V", "--version", is_flag=True, expose_value=False, is_eager=True,
              callback=_version, help="Show the version and how the kernels run, and exit.")
@click.option("--debug", is_flag=True, help="Show Python tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Name the services behind the ports in packet captures."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def stdout_console(**kwargs: Any) -> Console:
    """A rich Console for standard output whose broken pipe is ours (exit 5), not
    rich's silent exit 1.

    Strings print as they are: rich's markup and emoji codes are off, because what we
    print is data. With them on, "[fe80::1]:22" printed as ":22" (a tag), the address
    2001:db8::a:1 grew an emoji (":a:"), a registry description "Message Processing
    Module [recv]" lost its last word, and a query with "[/x]" in it was an error.
    Styling is given as rich Text or a style= argument instead."""
    from rich.console import Console

    kwargs.setdefault("markup", False)
    kwargs.setdefault("emoji", False)

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            _silence_stdout()
            raise BrokenPipeOutput(BROKEN_PIPE)

        def _render_buffer(self, buffer: Iterable[Segment]) -> str:
            """The text rich writes, its lines' trailing spaces left off where it goes
            to a pipe or a file: rich pads every line of a table (its title, the rule
            under the header, each row's last cell) to the table's width, and `portannot
            flows x.pcap | cat -A` showed up to 130 spaces ending each line, which
            `diff`, `grep ' $'` and a last `awk` field all see. On a terminal nothing
            changes."""
            text = super()._render_buffer(buffer)
            return text if self.is_terminal else _TRAILING_SPACES.sub("", text)

    return _Console(**kwargs)


#: the spaces that end a line (see stdout_console)
_TRAILING_SPACES = re.compile(r" +(?=\n)")


def print_whole(console: Console, table: Table) -> None:
    """Print a table no narrower than its cells need. Fitted to a narrower console,
    rich cuts cells short ("[2001:db8:1234:5678:9abc:def0:1234:5678]:65…") or drops
    whole columns, and these cells are data: a terminal that is too narrow wraps the
    lines instead, as it does tshark's."""
    from rich.measure import Measurement

    natural = Measurement.get(console, console.options.update_width(1 << 20), table).maximum
    width = console.width
    if natural > width:
        console.width = natural
    try:
        console.print(table)
    finally:
        console.width = width


class PathText(click.Path):
    """click.Path for a path option, but one holding a NUL byte is passed on as given:
    click's own stat of it raised Python's bare ValueError ('embedded null byte'), a
    traceback; whoever opens it (Output, the capture reader, the registry) refuses it as
    the one-line error of that kind of file, with its exit code."""

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        if isinstance(value, str) and "\0" in value:
            return value
        return super().convert(value, param, ctx)


def registry_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add --registry and --services to a sub-command that names services."""

    @click.option(
        "--registry",
        "registry",
        type=PathText(path_type=str),  # a directory: the registry's error, exit 6
        envvar=None,
        help="Registry file (IANA CSV or XML, services(5), nmap-services). "
        "Default: $PORTANNOT_REGISTRY, then `portannot registry update`'s, then the shipped snapshot.",
    )
    @click.option(
        "--services",
        "services",
        type=PathText(path_type=str),  # a directory: the registry's error, exit 6
        help="services(5)-style file of local names that win over the registry.",
    )
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _route_registry_warnings()
        return func(*args, **kwargs)

    return wrapper


#: the name of the handler that shows the registry's warnings (_route_registry_warnings)
WARNINGS_HANDLER = "portannot-registry-warnings"


def _route_registry_warnings() -> None:
    """The registry's warnings (records skipped, file and line) as `portannot: warning:`
    lines, whichever command loaded it. The handler goes on the registry's logger when
    it first logs (registry.source.when_logging): logging is not loaded at all by a
    command whose table comes from the cache and has nothing to say (~3 ms of its start)."""
    from portannot.registry.source import when_logging

    when_logging(_add_warnings_handler)


def _add_warnings_handler(logger: logging.Logger) -> None:
    import logging

    class _RegistryWarnings(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.WARNING:
                warn(record.getMessage())

    if not any(h.get_name() == WARNINGS_HANDLER for h in logger.handlers):
        handler = _RegistryWarnings()
        handler.set_name(WARNINGS_HANDLER)
        logger.addHandler(handler)


def check_streams(inputs: tuple[str, ...] = (), *, stdout: bool = True) -> None:
    """Refuse, before any reading, what standard input and output cannot do: "-" given
    twice (standard input is read once: the second would be empty, or fail), "-" as the
    only input when standard input is closed (exit 4; among other inputs it is skipped
    as any input that cannot be read is, the others read: capture.source), and a command
    that prints to a closed standard output (exit 5)."""
    if sum(1 for i in inputs if i == "-") > 1:
        raise click.UsageError("standard input ('-') can be given only once")
    if inputs == ("-",) and stdin_closed():
        from portannot.capture.source import STDIN_NAME  # loaded already by a command with inputs

        raise InputError(f"{STDIN_NAME}: {STDIN_CLOSED}")
    if stdout and stdout_closed():
        raise OutputError(STDOUT_CLOSED)


def fail(message: str, code: ExitCode) -> None:
    """Print one line on stderr and exit with a documented code."""
    click.echo(f"portannot: {one_line(message)}", err=True)
    sys.exit(int(code))


def warn(message: str) -> None:
    click.echo(f"portannot: warning: {one_line(message)}", err=True)


def console() -> NoReturn:
    """The installed `portannot` command: main(), then os._exit once the output is
    flushed.

    Tearing down the interpreter after numba's JIT ran (its LLVM engines,
    thousands of typing objects) costs about 0.3 s, more than the work on a 1 GB
    capture; with the kernels built ahead of time it is pyarrow's and numpy's. Every file portannot writes is closed by then; only the
    teardown is skipped. In-process callers (tests, embedding) use main(), which
    raises SystemExit as usual.
    """
    # The imports (pyarrow; numba under the JIT) make hundreds of thousands of objects that live
    # as long as the process; the collector walking them again and again costs
    # ~0.05 s. with_progress() turns it back on, those objects frozen, as reading starts.
    gc.disable()
    _CONSOLE.append(True)
    try:
        main()
    except SystemExit as exc:
        code = exc.code
    else:
        code = 0
    _exit_now(code)


def _end_start_up_guard() -> None:
    """Ctrl-C is a KeyboardInterrupt again (_interrupt), which LazyGroup.invoke turns
    into its line and exit 130, before any output it must clean up (a temporary file)
    can exist; SIGTERM and SIGHUP, unless the caller set their handling, are the same
    cleanup (_terminate). Also where SIGINT is ignored, which it stays: a job a script
    starts with `&` has it so (POSIX shells), and SIGTERM, left to its default there,
    killed the command where it stood, its output's temporary left behind."""
    from portannot.cli import _interrupted_at_start

    sigint = signal.getsignal(signal.SIGINT)
    if sigint is _interrupted_at_start:
        signal.signal(signal.SIGINT, _interrupt)
    elif not (_CONSOLE and sigint is signal.SIG_IGN):
        return  # an in-process caller's handling (main(), tests): theirs
    for signum in _ENDING:
        if signal.getsignal(signum) is signal.SIG_DFL:  # nohup's SIG_IGN stays
            signal.signal(signum, _terminate)


#: not empty in the installed command (console), whose signals are its own to handle
_CONSOLE: list[bool] = []


def _interrupt(signum: int, frame: Any) -> None:
    """Ctrl-C while the command works: a KeyboardInterrupt, once. Later ones are ignored:
    raised in the cleanup the first one started (a finally, a generator closed as it is
    dropped, Background.close waiting for its thread), a second cut that cleanup short,
    left a temporary file, or printed "Exception ignored in ..." from a finalizer.

    Not inside the import machinery (see _in_import_machinery): there it is raised a
    moment later, once the main thread has left it."""
    if _in_import_machinery(frame) and hasattr(signal, "setitimer"):
        _DEFERRED[:] = [signum]
        signal.signal(signal.SIGALRM, _interrupt_again)
        signal.setitimer(signal.ITIMER_REAL, INTERRUPT_RETRY)
        return
    for stopping in _STOPPING:
        if signal.getsignal(stopping) in (_interrupt, _terminate):
            signal.signal(stopping, signal.SIG_IGN)
    _INTERRUPTED.append(True)
    raise KeyboardInterrupt


def _terminate(signum: int, frame: Any) -> None:
    """SIGTERM (or SIGHUP: the terminal closed) while the command works: the cleanup of
    a Ctrl-C (_interrupt), then the process ends by that signal all the same
    (_exit_now), as whoever sent it expects. Python's default, dying where it stood,
    left the output's temporary file (as large as what had been written) beside the -o
    target."""
    _TERMINATED.append(signum)
    _interrupt(signum, frame)


#: the signals that end a command as their default would, after its cleanup
_ENDING = (signal.SIGTERM, signal.SIGHUP)
#: the signals that interrupt a command, ignored once one of them has
_STOPPING = (signal.SIGINT, *_ENDING)
#: the signal that ended the command, once one of _ENDING has (see _terminate)
_TERMINATED: list[int] = []


def _interruption() -> str:
    """The line that says what stopped the command."""
    if not _TERMINATED:
        return "interrupted"
    return "hung up" if _TERMINATED[0] == signal.SIGHUP else "terminated"


#: seconds after which an interrupt that came inside the import machinery is tried again
INTERRUPT_RETRY = 0.01


def _in_import_machinery(frame: Any) -> bool:
    """Whether the main thread is in importlib's own code (not a module being imported).
    A KeyboardInterrupt raised there was lost: in the weak reference callback that drops
    a module's lock (`_get_module_lock.<locals>.cb`, run as the command imports numba
    and pyarrow) it was printed as "Exception ignored" and swallowed, the handler then
    ignoring Ctrl-C, and raised just after that callback took the global import lock, it
    left the lock held: the reading thread's next import waited for it for ever. About
    one Ctrl-C in 50 during the start-up hung the command that way."""
    return frame is not None and frame.f_code.co_filename.startswith("<frozen importlib")


def _interrupt_again(_alarm: int, frame: Any) -> None:
    """The interrupt put off by _interrupt, by the signal that asked for it: raised if
    that signal's handler is still ours, held if reading has ended meanwhile
    (reading_ended). It asked SIGINT's handler, which a job started with `&` ignores:
    a SIGTERM or SIGHUP put off there was dropped, and the command read on for ever."""
    signum = _DEFERRED.pop() if _DEFERRED else signal.SIGINT
    handler = signal.getsignal(signum)
    if handler in (_interrupt, _terminate):
        _interrupt(signum, frame)
    elif handler is _hold:
        _hold(signum, frame)


#: the signal whose interrupt _interrupt put off (see _interrupt_again)
_DEFERRED: list[int] = []


#: not empty once _interrupt has raised: an exception that escapes the command after
#: that is the interrupt's doing (one landing inside `import pyarrow.parquet` came out
#: as "TypeError: expected a message argument", exit 1), reported as the interruption
_INTERRUPTED: list[bool] = []


def reading_ended() -> None:
    """The command has read its input (or stopped reading): closing the stages, ending
    and committing the output and printing what it has are bounded, and a Ctrl-C (or
    SIGTERM, SIGHUP) from here on is held (_hold), not raised: the command ends as it
    would have, unless rows are still to be written (interruptible). Raised there, the
    KeyboardInterrupt landed in that cleanup (a finally, a generator finalized in the
    main thread): it cut the cleanup short, printed "Exception ignored in ..." or a
    traceback, or was swallowed. Only the installed command's own handlers are replaced:
    in-process callers (main(), tests) keep theirs."""
    for signum in _STOPPING:
        if signal.getsignal(signum) in (_interrupt, _terminate):
            signal.signal(signum, _hold)


def _hold(signum: int, _frame: Any) -> None:
    """A signal once reading has ended: kept for interruptible (the first one), which
    interrupts the rows still to be written with it; nothing raised here."""
    if not _HELD:
        _HELD.append(signum)


#: the signal held since reading ended (_hold), until interruptible takes it
_HELD: list[int] = []


@contextmanager
def interruptible() -> Iterator[None]:
    """Rows still being written once reading has ended (`flows` writes every row then;
    the last pieces being encoded, the text being compressed): a Ctrl-C or SIGTERM
    interrupts them again, as during the reading (exit 130 or the signal, the output's
    temporary removed), and one held since reading ended interrupts as the block starts.
    After it, signals are held again: the output's end, its commit and the report are
    bounded, not interrupted (reading_ended)."""
    held = [signum for signum in _STOPPING if signal.getsignal(signum) is _hold]
    for signum in held:
        signal.signal(signum, _interrupt if signum == signal.SIGINT else _terminate)
    try:
        if held and _HELD:
            signum = _HELD.pop()
            (_interrupt if signum == signal.SIGINT else _terminate)(signum, None)
        yield
    finally:
        reading_ended()


def _exit_now(code: object) -> NoReturn:
    if isinstance(code, str):  # sys.exit("message"), as click may do
        click.echo(code, err=True)
        code = 1
    status = 0 if code is None else int(code)  # type: ignore[call-overload]
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        _report_broken_pipe()
        status = int(ExitCode.OUTPUT_ERROR)
    except OSError as exc:
        click.echo(f"portannot: {_stdout_failed(exc)}", err=True)
        status = int(ExitCode.OUTPUT_ERROR)
    try:
        if sys.stderr is not None:
            sys.stderr.flush()
    finally:
        if _TERMINATED:  # cleaned up: now end as the signal ends a process (_terminate)
            signal.signal(_TERMINATED[0], signal.SIG_DFL)
            os.kill(os.getpid(), _TERMINATED[0])
        os._exit(status)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: every known failure becomes one line and an exit code."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    with standard_streams():
        _main(argv, debug)


def _main(argv: list[str] | None, debug: bool) -> None:
    try:
        rv = cli.main(args=argv, prog_name="portannot", standalone_mode=False)
    except PortannotError as exc:
        if debug:
            _traceback_and_exit(exc.exit_code)
        if isinstance(exc, OutputError):
            # what standard output still holds would fail again, a second line, at exit
            _silence_stdout()
        fail(str(exc), exc.exit_code)
    except click.exceptions.Abort:
        fail(_interruption(), ExitCode.INTERRUPTED)
    except click.ClickException as exc:
        show_click_error(exc, argv if argv is not None else sys.argv[1:])
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        fail(_interruption(), ExitCode.INTERRUPTED)
    except BrokenPipeError:
        _quiet_broken_pipe()
    except OSError as exc:
        if debug:
            _traceback_and_exit(ExitCode.OUTPUT_ERROR)
        _silence_stdout()
        fail(f"{exc.strerror or exc}: {exc.filename}" if exc.filename else _stdout_failed(exc),
             ExitCode.OUTPUT_ERROR)
    sys.exit(int(rv or 0))


def _stdout_failed(exc: OSError) -> str:
    """A failed write that names no file, as the one line says it: the reports and
    tables go to standard output through rich, click.echo and print (an output file's
    and a capture's failures arrive named, as OutputError and InputError), and the bare
    "No space left on device" they gave did not say which output was full, where CSV
    and JSON Lines said "standard output: no space left on device"."""
    from portannot.output.files import output_error

    return str(output_error(None, exc, whole=False))


def _traceback_and_exit(code: ExitCode) -> NoReturn:
    """--debug: the traceback instead of the one line, and the same exit code (a
    traceback left to Python exited 1 whatever the failure)."""
    import traceback

    traceback.print_exc()
    sys.exit(int(code))


def show_click_error(exc: click.ClickException, argv: list[str] | None = None) -> None:
    """click's errors as one `portannot:` line, like every other error: click prints a
    usage error as three (Usage, Try, Error), which a script reading the last line, or
    a person reading the first, gets half of. A group run without a command still shows
    its help, as click does."""
    no_args = getattr(click.exceptions, "NoArgsIsHelpError", None)  # click 8.2+
    if no_args is not None and isinstance(exc, no_args):
        exc.show()
        return
    message = exc.format_message().replace("\n", " ").strip().removesuffix(".")
    if isinstance(exc, click.UsageError):
        command = exc.ctx.command_path if exc.ctx is not None else _command_of(argv or [])
        message += f" (see '{command} --help')"
    click.echo(f"portannot: error: {one_line(message)}", err=True)


def _command_of(argv: list[str]) -> str:
    """The command path an argument list names, for an error click raised without a
    context (an option missing its value: `flows --registry` pointed at the group's
    help, which does not list --registry)."""
    path, group = ["portannot"], cli
    for arg in argv:
        ctx = click.Context(group)
        if arg not in group.list_commands(ctx):
            continue
        path.append(arg)
        command = group.get_command(ctx, arg)
        if not isinstance(command, click.Group):
            break
        group = command
    return " ".join(path)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush cannot fail again,
    where it would: what standard output still holds cannot be written (a full disk, a
    reader gone). Where it can be (the failure was another output's: an -o file that
    exists, its directory missing), standard output stays as it is: an in-process
    caller of main() was left with /dev/null on its descriptor 1 for the rest of its
    run, everything it printed after lost."""
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
            return
    except (OSError, ValueError):
        pass
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


def _report_broken_pipe() -> None:
    """A reader that went away (`| head`): say so once."""
    _silence_stdout()
    click.echo(f"portannot: {BROKEN_PIPE}", err=True)


def _quiet_broken_pipe() -> None:
    _report_broken_pipe()
    sys.exit(int(ExitCode.OUTPUT_ERROR))


class Seconds(click.ParamType):
    """A number of seconds within [minimum, maximum], checked by the flow table's own
    check_timeout (the API's too), so that the command and the API refuse the same
    values: click's FloatRange let "nan" and "inf" through (no comparison fails on
    them), and the flow table then failed converting them to nanoseconds. Text is
    plain decimal (timeouts.SECONDS_TEXT), and an error shows it as typed. `exact`
    gives the Decimal typed, which keeps every ns of a flow timeout, else a float."""

    name = "seconds"

    def __init__(self, minimum: float, maximum: float, *, exact: bool = False) -> None:
        self.minimum, self.maximum, self.exact = minimum, maximum, exact

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        # here, not at the top: numpy and the kernels, for the commands that take one
        from portannot.timeouts import check_timeout, parse_seconds

        shown = repr(value)
        if isinstance(value, str):
            try:
                value = parse_seconds(value)
            except ValueError as exc:
                self.fail(str(exc), param, ctx)
        try:
            checked = check_timeout(value, "a timeout", minimum=self.minimum,
                                    maximum=self.maximum, shown=shown)
        except (TypeError, ValueError) as exc:
            self.fail(str(exc), param, ctx)
        assert checked is not None
        return value if self.exact else checked
