"""CPU of rendering one certificate to PDF, comparable across checkouts and across hours.

    .venv/bin/python bench/certificate_render.py [--n 30]
    .venv/bin/python bench/certificate_render.py --instructions [--n 3]
    ROOT=/other/checkout .venv/bin/python bench/certificate_render.py --instructions

Renders the sample certificate (`rendering.SAMPLE_SNAPSHOT`) through `render_certificate`, after
three warm-up renders. Prints `cpu_ms_per_render=X n=N` (CPU time, which a loaded machine still
inflates), or with --instructions the instructions the renders run under valgrind's callgrind,
`minstructions_per_render=M n=N` (millions): the same on an idle or a loaded machine, so two
checkouts (ROOT=, e.g. the code of issue 19's time) compare without interleaving. Bulk issuing
(bench/certificates.py) adds the database, the credential and storage to each render.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.environ.get("ROOT", os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UNDER_CALLGRIND = "CERTIFICATE_RENDER_UNDER_CALLGRIND"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int)
    parser.add_argument("--instructions", action="store_true", help="count instructions")
    args = parser.parse_args()
    n = args.n or (3 if args.instructions else 30)
    if args.instructions and not os.environ.get(UNDER_CALLGRIND):
        print(f"minstructions_per_render={count_instructions(n) / n / 1e6:.1f} n={n}")
        return
    cpu_ms = render(n, switch_callgrind=bool(args.instructions))
    if not args.instructions:
        print(f"cpu_ms_per_render={cpu_ms:.1f} n={n}")


def count_instructions(n: int) -> int:
    """Run this script under callgrind, collecting the measured renders only."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "callgrind.out")
        command = ["valgrind", "-q", "--tool=callgrind", "--instr-atstart=no"]
        command += [f"--callgrind-out-file={out}", sys.executable, os.path.abspath(__file__)]
        command += ["--instructions", "--n", str(n)]
        subprocess.run(command, env={**os.environ, UNDER_CALLGRIND: "1"}, check=True)
        with open(out) as counts:
            return next(int(line.split()[1]) for line in counts if line.startswith("totals:"))


def render(n: int, switch_callgrind: bool) -> float:
    """CPU milliseconds per render of the sample certificate, in the checkout at ROOT."""
    sys.path.insert(0, ROOT)
    os.chdir(ROOT)
    from schoolmgr import create_app
    from schoolmgr.certificates import rendering

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "bench-" + "0" * 58})
    with app.test_request_context():
        snapshot = dict(rendering.SAMPLE_SNAPSHOT)
        for _ in range(3):
            rendering.render_certificate(snapshot)
        switch = ["callgrind_control", "--instr"]
        if switch_callgrind:
            subprocess.run([*switch, "on", str(os.getpid())], check=True, capture_output=True)
        started = time.process_time()
        for _ in range(n):
            rendering.render_certificate(snapshot)
        cpu = time.process_time() - started
        if switch_callgrind:
            subprocess.run([*switch, "off", str(os.getpid())], check=True, capture_output=True)
    return 1000 * cpu / n


if __name__ == "__main__":
    main()
