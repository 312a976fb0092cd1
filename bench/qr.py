"""The certificate's QR code drawn three ways: CPU per certificate and PDF size.

    .venv/bin/python bench/qr.py [--n 40] [--rounds 5]

Renders the sample certificate (with a new verification link each time) through the app's
renderer, swapping only the QR image: segno's SVG (one path that WeasyPrint parses and draws),
a PNG at print resolution (8 pixels per module, ~350 dpi at 24 mm, drawn smoothly) and the
app's PNG with one pixel per module (drawn pixelated), all three with the app's fixed mask.
The variants are interleaved round by round, so a change of load on a shared machine hits all
three alike; the figures are medians of CPU time. One line per variant:
`qr=NAME cpu_ms_per_certificate=X pdf_bytes=B`.
"""

import argparse
import base64
import io
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def svg_path(url: str) -> str:
    import segno

    from schoolmgr.certificates import rendering

    qr = segno.make(url, error="m", mask=rendering.QR_MASK)
    return qr.svg_data_uri(scale=4, border=0, dark="#1f2a44")


def png_print_resolution(url: str) -> str:
    import segno
    from PIL import Image

    from schoolmgr.certificates import rendering

    qr = segno.make(url, error="m", mask=rendering.QR_MASK)
    size = qr.symbol_size(border=0)
    image = Image.frombytes("P", size, bytes(bit for row in qr.matrix for bit in row))
    image.putpalette([*rendering.QR_LIGHT, *rendering.QR_DARK])
    image = image.resize((size[0] * 8, size[1] * 8), Image.Resampling.NEAREST)
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=40, help="certificates per variant and round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    from schoolmgr.certificates import rendering

    variants = {
        "svg_path": svg_path,
        "png_print_resolution": png_print_resolution,
        "png_pixelated": rendering.qr_data_uri,
    }

    def render(qr, k: int) -> bytes:
        snapshot = {
            **rendering.SAMPLE_SNAPSHOT,
            "verify_url": f"https://school.example.org/verify/BENCH-{k:04d}-QRQR-QRQR",
        }
        return rendering.render_certificate(snapshot, qr(snapshot["verify_url"]))

    for qr in variants.values():
        render(qr, 0)  # fonts, stylesheet and images loaded before timing
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    sizes: dict[str, int] = {}
    for round_ in range(args.rounds):
        for name, qr in variants.items():
            started = time.process_time()
            for k in range(args.n):
                sizes[name] = len(render(qr, round_ * args.n + k))
            cpu[name].append((time.process_time() - started) / args.n)
    for name in variants:
        print(
            f"qr={name} cpu_ms_per_certificate={1000 * statistics.median(cpu[name]):.1f} "
            f"pdf_bytes={sizes[name]}"
        )


if __name__ == "__main__":
    main()
