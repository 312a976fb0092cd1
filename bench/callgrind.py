"""Instruction counts for the benchmarks (valgrind's callgrind): the same figure on an idle or a
loaded machine, so two trees compare without interleaving.

A benchmark runs itself again under callgrind with collection off (`instructions_of`), and the
run under callgrind switches it on around the work it measures only (`collecting`).
"""

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator

UNDER_CALLGRIND = "BENCH_UNDER_CALLGRIND"


def under_callgrind() -> bool:
    """Whether this process is the run under callgrind (`instructions_of` started it)."""
    return bool(os.environ.get(UNDER_CALLGRIND))


def instructions_of(script: str, arguments: list[str]) -> int:
    """Run `script` with `arguments` under callgrind; the instructions it collected."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        command = ["valgrind", "-q", "--tool=callgrind", "--instr-atstart=no"]
        command += [f"--callgrind-out-file={out}", sys.executable, os.path.abspath(script)]
        subprocess.run([*command, *arguments], env={**os.environ, UNDER_CALLGRIND: "1"}, check=True)
        with open(out) as counts:
            return next(int(line.split()[1]) for line in counts if line.startswith("totals:"))


@contextlib.contextmanager
def collecting() -> Iterator[None]:
    """Count the instructions of the block only (in the run under callgrind)."""
    switch = ["callgrind_control", "--instr"]
    subprocess.run([*switch, "on", str(os.getpid())], check=True, capture_output=True)
    try:
        yield
    finally:
        subprocess.run([*switch, "off", str(os.getpid())], check=True, capture_output=True)
