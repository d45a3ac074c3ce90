"""Builds `portannot._kernels`: the numba kernels compiled ahead of time (numba.pycc).

Optional by design: if the build fails (no C compiler, a numba without pycc), the
install goes on and the same kernels run through numba's JIT (see
src/portannot/compiled.py). PORTANNOT_CPU picks the target CPU (default: this
machine's; "generic" for a wheel meant for other machines).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

SRC = Path(__file__).resolve().parent / "src"


class BuildKernels(build_ext):
    built: set[str] = set()

    def build_extension(self, ext: Extension) -> None:
        target = Path(self.get_ext_fullpath(ext.name))
        try:
            compile_kernels(target)
            self.built.add(ext.name)
        except Exception as exc:  # noqa: BLE001 - any failure means: use the JIT
            target.unlink(missing_ok=True)  # not a module left in build/ by an older build
            print(
                f"portannot: kernels not compiled ahead of time ({type(exc).__name__}: {exc}); "
                "numba's JIT will compile them at first use",
                file=sys.stderr,
            )

    def copy_extensions_to_source(self) -> None:
        # an editable install copies the built module into src/; none was built after a failure
        self.extensions = [e for e in self.extensions if e.name in self.built]
        super().copy_extensions_to_source()


def compile_kernels(target: Path) -> None:
    os.environ["PORTANNOT_JIT"] = "1"  # import the kernels as numba functions
    sys.path.insert(0, str(SRC))
    import importlib

    import numba.pycc.compiler
    from numba.pycc import CC

    from portannot import compiled

    for module in compiled.KERNEL_MODULES:
        importlib.import_module(module)

    class ReleaseGil(numba.pycc.compiler.Flags):
        """The kernels are nogil under the JIT; the ahead-of-time wrappers must also
        let go of the GIL, or the flow thread would wait on the decoder."""

        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.release_gil = True

    numba.pycc.compiler.Flags = ReleaseGil
    name = ext_name = "_kernels"
    cc = CC(ext_name)
    cc.output_dir = str(target.parent)
    cc.output_file = target.name
    cc.target_cpu = os.environ.get("PORTANNOT_CPU", "host")
    for symbol, (func, signature) in compiled.ENTRIES.items():
        cc.export(symbol, signature)(func)
    stamp = compiled.source_stamp()
    cc.export("source_stamp", "i8()")(lambda: stamp)
    target.parent.mkdir(parents=True, exist_ok=True)
    cc.compile()
    print(f"portannot: {len(compiled.ENTRIES)} kernels compiled ahead of time into {name}")


setup(
    ext_modules=[Extension("portannot._kernels", sources=[])],
    cmdclass={"build_ext": BuildKernels},
)
