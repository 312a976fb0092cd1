"""What a second language costs a certificate: render one of twelve modules, English only and
bilingual (English + Macedonian), N times each, after a warm-up.

    .venv/bin/python bench/bilingual_certificate.py [--n 20]

Prints `variant=... modules=12 n=N ms_per_certificate=X pages=P` per variant.
"""

import argparse
import io
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=20)
    args = parser.parse_args()

    import pypdf

    from schoolmgr import create_app
    from schoolmgr.certificates import rendering
    from schoolmgr.i18n import in_language
    from schoolmgr.timeutils import fmt_date, fmt_date_range

    app = create_app({"TESTING": True})
    with app.app_context():
        english = {
            **rendering.SAMPLE_SNAPSHOT,
            "modules": [
                {"name": f"Human-Centered Change Management {i}", "hours": 3.0} for i in range(12)
            ],
            "total_hours": 36.0,
        }
        with in_language("mk"):
            second = {
                "language": "mk",
                "kind": "Seasonal school",
                "format": "In person",
                "place": "Budva, Montenegro",
                "dates": fmt_date_range(date(2019, 9, 16), date(2019, 9, 20)),
                "issued_on_text": fmt_date(date(2019, 9, 20)),
            }
        bilingual = {**english, "second": second, "languages": ["en", "mk"]}
        rendering.warm_up()
        for variant, snapshot in (("english_only", english), ("bilingual_mk", bilingual)):
            started = time.perf_counter()
            for _ in range(args.n):
                content = rendering.render_certificate(snapshot)
            ms = (time.perf_counter() - started) / args.n * 1000
            pages = len(pypdf.PdfReader(io.BytesIO(content)).pages)
            print(
                f"variant={variant} modules=12 n={args.n} ms_per_certificate={ms:.0f} pages={pages}"
            )


if __name__ == "__main__":
    main()
