"""The `portannot` command: one module per sub-command.

Each sub-command loads through app.LazyGroup when it runs. This module stays light:
`console`, the installed command, first makes Ctrl-C during the start-up (click,
then the sub-command's imports) one line and exit 130, as it is once a command runs;
a KeyboardInterrupt there printed an import traceback.
"""

import os
import signal
from typing import TYPE_CHECKING, Any, NoReturn

# The command never calls BLAS, but OpenBLAS starts a worker per core as numpy loads,
# and each spins for ~0.1 s of CPU before sleeping: on two cores, time taken from
# the reading threads. Set before numpy loads; a user's own setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# Arrow's default allocator (mimalloc) takes transparent huge pages for its arenas, and
# the kernel zeroing each fresh 2 MiB page was 15 % of small-5m's CPU (perf: Parquet
# encoding's buffers), swinging from run to run on a VM as the flow table's pages did
# (aggregate.table.table_array). The system allocator takes small pages: small-5m to
# Parquet in 0.45-0.46 s against 0.45-0.66 s (5 interleaved runs), 12-16 MB less peak
# RSS. Read when pyarrow first allocates; a user's own setting wins.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")

if TYPE_CHECKING:
    from portannot.cli.app import cli, main

__all__ = ["cli", "console", "main"]


def console() -> NoReturn:
    """The installed `portannot` command (see app.console)."""
    try:
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, _interrupted_at_start)
    except KeyboardInterrupt:
        # a Ctrl-C that came before the handler was in place is delivered at the first
        # check Python makes, here (inside signal.signal's own Python code): it was a
        # traceback through console
        _interrupted_at_start(signal.SIGINT, None)
    # before any thread starts: the preload helper's dlopen of pyarrow's libraries took
    # a closed descriptor 2 for a moment, standard_streams (in main) then found it open
    # and left it, and the output file opened next became it, taking the messages
    # (`portannot packets cut.pcap -o out.csv 2>&-` exited 5, now and then, for 3)
    from portannot.output.stdio import hold_standard_descriptors

    hold_standard_descriptors()
    _load_clicks_compiled_modules()
    from portannot.cli.preload import preload

    preload()
    from portannot.cli.app import console as run

    run()


def _load_clicks_compiled_modules() -> None:
    """Load the standard library's compiled modules click's import loads (uuid's _uuid,
    datetime's _datetime and math, inspect's _opcode) before the preload helper starts: its dlopen of
    pyarrow's libraries holds the dynamic loader, and an extension module the main
    thread imports meanwhile waits for the whole load. click's `import uuid` waited so
    for 9 to 45 ms (`python -X importtime`: _uuid's own time, 0.3 ms without the helper);
    loaded here, the main thread's Python (click's, the command's) runs beside the load."""
    import datetime  # noqa: F401
    import opcode  # noqa: F401 - _opcode, without the rest of inspect's imports
    import uuid  # noqa: F401


def _interrupted_at_start(_signum: int, _frame: Any) -> None:
    # nothing is written yet, nothing to clean up: say so and go
    os.write(2, b"portannot: interrupted\n")
    os._exit(130)


def __getattr__(name: str) -> Any:
    if name in ("cli", "main"):
        from portannot.cli import app

        return getattr(app, name)
    raise AttributeError(f"module 'portannot.cli' has no attribute {name!r}")
