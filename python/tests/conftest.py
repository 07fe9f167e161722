"""Shared fixtures: the repository layout and compiled kernels.

The tests drive the real tools: they use the build that sparse_opt finds
($SPARSE_OPT_BUILD_DIR, which CTest sets, else the repository's build/).
"""

import pytest

import sparse_opt


@pytest.fixture(scope="session")
def kernel(tmp_path_factory):
    """``kernel(kind, rows, cols, index_bits=32)``: the Library of the
    kernels.kernel_source kernel for that shape, compiled once per session
    (compiling dominates the run time)."""
    directory = tmp_path_factory.mktemp("kernels")
    libraries = {}

    def get(kind, rows, cols, index_bits=32):
        key = (kind, rows, cols, index_bits)
        if key not in libraries:
            source = sparse_opt.kernel_source(kind, rows, cols,
                                              index_bits=index_bits)
            output = directory / f"{kind}_{rows}x{cols}_i{index_bits}.so"
            libraries[key] = sparse_opt.compile(source, output)
        return libraries[key]

    yield get
    for library in libraries.values():
        library.close()
