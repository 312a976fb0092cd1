"""The SVG bar charts: accessible, escaped, to scale; parsed with an XML parser."""

import xml.etree.ElementTree as ET

import pytest

from schoolmgr.charts import Bar, bar_chart, percent, percent_text

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup) -> ET.Element:
    return ET.fromstring(str(markup))


def bars_of(svg: ET.Element) -> list[ET.Element]:
    return svg.findall(f"{SVG}g")


@pytest.mark.parametrize("orientation", ["horizontal", "vertical"])
def test_chart_has_a_title_a_description_and_one_group_per_bar(orientation):
    svg = parse(
        bar_chart(
            [Bar("Woman", 41), Bar("Man", 38), Bar("Not answered", 3, muted=True)],
            title="Participants by gender",
            description="41 women, 38 men, 3 not answered.",
            orientation=orientation,
        )
    )
    assert svg.get("role") == "img"
    title_id, desc_id = svg.get("aria-labelledby").split()
    assert svg.find(f"{SVG}title").get("id") == title_id
    assert svg.find(f"{SVG}title").text == "Participants by gender"
    assert svg.find(f"{SVG}desc").get("id") == desc_id
    assert svg.find(f"{SVG}desc").text == "41 women, 38 men, 3 not answered."
    groups = bars_of(svg)
    assert [g.find(f"{SVG}title").text for g in groups] == [
        "Woman: 41",
        "Man: 38",
        "Not answered: 3",
    ]
    texts = ["".join(t.itertext()) for t in svg.iter(f"{SVG}text")]
    assert "41" in texts and "Woman" in texts


def test_horizontal_bars_are_to_scale():
    svg = parse(bar_chart([Bar("a", 50), Bar("b", 100), Bar("c", 0)], title="t"))
    widths = [float(g.findall(f"{SVG}rect")[1].get("width")) for g in bars_of(svg)]
    assert widths[1] == pytest.approx(2 * widths[0])
    assert widths[2] == 0


def test_vertical_bars_are_to_scale_against_a_fixed_maximum():
    svg = parse(
        bar_chart(
            [Bar("2019", 25, "25%"), Bar("2020", 50, "50%")],
            title="Attendance",
            orientation="vertical",
            max_value=100,
        )
    )
    heights = [float(g.find(f"{SVG}rect").get("height")) for g in bars_of(svg)]
    assert heights[1] == pytest.approx(2 * heights[0])
    assert heights[1] < 150  # half of the plot height, not all of it
    assert [g.find(f"{SVG}title").text for g in bars_of(svg)] == ["2019: 25%", "2020: 50%"]


def test_labels_from_users_are_escaped():
    markup = bar_chart(
        [Bar('<script>xss(1)</script>"&', 1)],
        title="<img src=x onerror=xss(2)>",
        description="a & b",
    )
    assert "<script>" not in markup and "<img" not in markup
    svg = parse(markup)  # still well-formed XML
    assert svg.find(f"{SVG}title").text == "<img src=x onerror=xss(2)>"
    assert bars_of(svg)[0].find(f"{SVG}title").text.startswith('<script>xss(1)</script>"&')


def test_long_labels_are_shortened_on_the_bar_but_whole_in_its_title():
    label = "Agency for Delivery of Integrated Services (ADISA) of the Republic of Albania, Tirana"
    svg = parse(bar_chart([Bar(label, 3)], title="t"))
    group = bars_of(svg)[0]
    assert group.find(f"{SVG}title").text == f"{label}: 3"
    shown = group.find(f"{SVG}text").text
    assert shown.endswith("…") and len(shown) <= 50


def test_an_empty_chart_still_renders_and_a_bad_orientation_is_refused():
    svg = parse(bar_chart([], title="Nothing yet"))
    assert svg.find(f"{SVG}title").text == "Nothing yet"
    with pytest.raises(ValueError):
        bar_chart([Bar("a", 1)], title="t", orientation="diagonal")


def test_the_default_description_lists_every_figure():
    svg = parse(bar_chart([Bar("Serbia", 12), Bar("Kosovo*", 7)], title="By country"))
    assert svg.find(f"{SVG}desc").text == "Serbia: 12; Kosovo*: 7"


def test_percent_helpers():
    assert percent(1, 4) == 25
    assert percent(1, 0) is None
    assert percent_text(None) == "–"
    assert percent_text(87.4) == "87%"
