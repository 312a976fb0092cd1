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
import contextlib
import os
import sys
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, HERE)
from bench import callgrind  # noqa: E402  (this tree's, before ROOT's code is imported)

ROOT = os.environ.get("ROOT", HERE)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int)
    parser.add_argument("--instructions", action="store_true", help="count instructions")
    args = parser.parse_args()
    n = args.n or (3 if args.instructions else 30)
    if args.instructions and not callgrind.under_callgrind():
        total = callgrind.instructions_of(__file__, ["--instructions", "--n", str(n)])
        print(f"minstructions_per_render={total / n / 1e6:.1f} n={n}")
        return
    cpu_ms = render(n, count_instructions=args.instructions)
    if not args.instructions:
        print(f"cpu_ms_per_render={cpu_ms:.1f} n={n}")


def render(n: int, count_instructions: bool) -> float:
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
        with callgrind.collecting() if count_instructions else contextlib.nullcontext():
            started = time.process_time()
            for _ in range(n):
                rendering.render_certificate(snapshot)
            cpu = time.process_time() - started
    return 1000 * cpu / n


if __name__ == "__main__":
    main()
