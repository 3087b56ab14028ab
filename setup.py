"""The compiled part of hoptac: block-max BM25 (retrieval/local/_bm25.c). Everything else is in pyproject.toml.

-ffp-contract=off: no fused multiply-add, so the scores round exactly as numpy's float64 path.
Without a C compiler the install still works and BM25 scores every posting (retrieval/local/pruned.py).
"""

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class OptionalBuildExt(build_ext):
    """Build the extension when a compiler is there; warn and go on when not."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # any compiler failure: the numpy path serves
            print(f"warning: retrieval/local/_bm25.c not compiled ({exc}); BM25 will score every posting")

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            print(f"warning: {ext.name} not compiled ({exc}); BM25 will score every posting")


setup(
    ext_modules=[
        Extension(
            "retrieval.local._bm25",
            ["retrieval/local/_bm25.c"],
            extra_compile_args=["-O2", "-ffp-contract=off", "-fno-fast-math", "-std=c11"],
        )
    ],
    cmdclass={"build_ext": OptionalBuildExt},
)
