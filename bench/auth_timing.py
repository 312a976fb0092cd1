"""Does the time of sign-in, sign-up or forgot-password tell whether an email has an account?

    .venv/bin/python bench/auth_timing.py [--rounds 15]

Serves the app through the test client on a temporary SQLite file (mail kept in memory) and
times each form posted with an address that has an account and one that has none, alternating.
Prints one line per form: `form=NAME existing_ms=X unknown_ms=Y ratio=R` (medians), where a
ratio near 1.0 means the answer's time does not tell the two apart.
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from schoolmgr import create_app  # noqa: E402
from schoolmgr.extensions import db  # noqa: E402
from tests import factories  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite3",
                "STORAGE_DIR": f"{tmp}/storage",
            }
        )
        with app.app_context():
            db.create_all()
            factories.UserFactory(email="known@example.org")
            client = app.test_client()
            signup = {
                "full_name": "Đorđe Čolić",
                "password": "a long enough password",
                "confirm": "a long enough password",
                "country": "RS",
                "institution": "Office for IT and eGovernment",
            }
            forms = {
                "login": ("/login", lambda email, n: {"email": email, "password": "wrong pass!"}),
                "forgot_password": ("/forgot-password", lambda email, n: {"email": email}),
                "signup": (
                    "/signup",
                    lambda email, n: {
                        **signup,
                        "email": email if email == "known@example.org" else f"new{n}@example.org",
                    },
                ),
            }
            for name, (path, data) in forms.items():
                times = {"existing": [], "unknown": []}
                client.post(path, data=data("warm-up@example.org", -1))  # first-use costs
                for n in range(args.rounds):
                    for kind, email in (("existing", "known@example.org"), ("unknown", "x@y.org")):
                        started = time.perf_counter()
                        client.post(path, data=data(email, n))
                        times[kind].append((time.perf_counter() - started) * 1000)
                existing = statistics.median(times["existing"])
                unknown = statistics.median(times["unknown"])
                print(
                    f"form={name} existing_ms={existing:.1f} unknown_ms={unknown:.1f} "
                    f"ratio={existing / unknown:.2f}"
                )
            db.engine.dispose()


if __name__ == "__main__":
    main()
