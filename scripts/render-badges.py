# ruff: noqa: E501  (the SVG drawings are kept one element a line)
"""Draw the Open Badges images (one per edition kind, and the issuer's) as SVG and PNG.

The files are vendored in static/img/badges/; run this again only to change the design:
    .venv/bin/python scripts/render-badges.py
PNGs are rendered by Debian's Chromium through Playwright (512 x 512).
"""

from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "static" / "img" / "badges"

# kind: (label on the ribbon, main colour, dark colour, icon path in a 100x100 box)
KINDS = {
    "seasonal_school": (
        "SEASONAL SCHOOL",
        "#0b6e4f",
        "#064a35",
        "M50 18 14 36l36 18 30-15v21h6V36z M28 50v15c0 6 10 12 22 12s22-6 22-12V50L50 61z",
    ),
    "webinar": (
        "WEBINAR",
        "#1f5fa8",
        "#123c6b",
        "M18 24h64v42H18z M24 30v30h52V30z M40 72h20v6H40z M32 78h36v5H32z M44 37l16 8-16 8z",
    ),
    "hackathon": (
        "HACKATHON",
        "#8a3b12",
        "#5c260a",
        "M36 30 18 50l18 20 5-5-13-15 13-15z M64 30l-5 5 13 15-13 15 5 5 18-20z M55 22h7L45 78h-7z",
    ),
    "workshop": (
        "WORKSHOP",
        "#6b3fa0",
        "#45276a",
        "M22 70 58 34l8 8-36 36h-8z M62 22a14 14 0 0 1 16 18l-8-2-4 4 2 8a14 14 0 0 1-18-16z",
    ),
    "networking": (
        "NETWORKING",
        "#0e6f86",
        "#084a5a",
        "M50 20a9 9 0 1 1 0 18 9 9 0 0 1 0-18z M24 58a9 9 0 1 1 0 18 9 9 0 0 1 0-18z "
        "M76 58a9 9 0 1 1 0 18 9 9 0 0 1 0-18z M47 37h6v10l20 13-3 5-20-13-20 13-3-5 20-13z",
    ),
    "coaching": (
        "COACHING",
        "#9a2f4f",
        "#661d33",
        "M38 22a10 10 0 1 1 0 20 10 10 0 0 1 0-20z M22 78V58c0-8 7-13 16-13s16 5 16 13v20z "
        "M66 30a8 8 0 1 1 0 16 8 8 0 0 1 0-16z M58 78V62c0-6 4-10 8-10s12 4 12 10v16z",
    ),
}


def badge_svg(label: str, colour: str, dark: str, icon: str, title: str) -> str:
    return f"""<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512" role="img" aria-label="{title}">
  <title>{title}</title>
  <path d="M176 360 130 500l60-28 38 44 40-150z" fill="{dark}"/>
  <path d="M336 360l46 140-60-28-38 44-40-150z" fill="{dark}"/>
  <circle cx="256" cy="232" r="200" fill="{colour}"/>
  <circle cx="256" cy="232" r="178" fill="none" stroke="#fff" stroke-width="6" stroke-dasharray="4 10" opacity=".7"/>
  <circle cx="256" cy="232" r="150" fill="#fff"/>
  <g transform="translate(181 140) scale(1.5)" fill="{colour}" fill-rule="evenodd"><path d="{icon}"/></g>
  <path d="M30 300h452l-24 36 24 36H30l24-36z" fill="{dark}"/>
  <text x="256" y="347" text-anchor="middle" font-family="DejaVu Sans, Arial, sans-serif" font-size="{30 if len(label) <= 11 else 26}" font-weight="700" fill="#fff" letter-spacing="1">{label}</text>
  <text x="256" y="128" text-anchor="middle" font-family="DejaVu Sans, Arial, sans-serif" font-size="26" font-weight="700" fill="{dark}" letter-spacing="4">ReSPA</text>
</svg>
"""


def issuer_svg() -> str:
    return """<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512" role="img" aria-label="ReSPA">
  <title>ReSPA</title>
  <rect width="512" height="512" rx="96" fill="#0b6e4f"/>
  <path d="M256 96 64 192l192 96 160-80v112h32V192z" fill="#fff"/>
  <path d="M144 264v80c0 32 56 64 112 64s112-32 112-64v-80l-112 56z" fill="#fff" opacity=".85"/>
</svg>
"""


def main() -> None:
    from playwright.sync_api import sync_playwright

    OUT.mkdir(parents=True, exist_ok=True)
    drawings = {"issuer": issuer_svg()}
    for kind, (label, colour, dark, icon) in KINDS.items():
        drawings[kind] = badge_svg(label, colour, dark, icon, f"ReSPA {label.title()} badge")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 512, "height": 512})
        for name, svg in drawings.items():
            (OUT / f"{name}.svg").write_text(svg)
            sized = svg.replace("<svg ", '<svg width="512" height="512" ', 1)
            page.set_content(
                f"<html><body style='margin:0;background:transparent'>{sized}</body></html>"
            )
            page.screenshot(path=str(OUT / f"{name}.png"), omit_background=True)
        browser.close()


if __name__ == "__main__":
    main()
