"""The server-drawn SVG charts: bars in proportion, valid SVG with a title and description."""

import xml.etree.ElementTree as ET

from flask import render_template_string

from schoolmgr.evaluations import charts

SVG = "{http://www.w3.org/2000/svg}"


def test_bars_are_in_proportion_to_the_counts():
    chart = charts.bar_chart([("1", 0), ("2", 2), ("3", 4)])
    heights = [bar.height for bar in chart.bars]
    assert heights == [0, charts.BAR_AREA_HEIGHT / 2, charts.BAR_AREA_HEIGHT]
    assert all(bar.y + bar.height == chart.baseline for bar in chart.bars)
    assert chart.total == 6
    assert charts.bar_chart([]).bars == []


def test_horizontal_bars_for_long_option_names():
    chart = charts.horizontal_chart([("Yes, regularly", 3), ("No", 1)])
    assert abs(chart.rows[0].width - 3 * chart.rows[1].width) < 0.5
    assert chart.rows[1].y > chart.rows[0].y


def test_the_rendered_chart_is_valid_svg_with_title_desc_and_escaped_labels(app):
    with app.test_request_context():
        html = render_template_string(
            '{% from "evaluations/_chart.html" import horizontal_chart %}'
            "{{ horizontal_chart(chart, 'c1', title, 'Three answers.') }}",
            chart=charts.horizontal_chart([("<b>Agile</b>", 2), ("Human Ware", 1)]),
            title="Which <modules>?",
        )
    svg = ET.fromstring(html.strip())
    assert svg.find(f"{SVG}title").text == "Which <modules>?"
    assert svg.find(f"{SVG}desc").text == "Three answers."
    assert svg.get("role") == "img" and svg.get("aria-labelledby") == "c1-title c1-desc"
    labels = [t.text for t in svg.findall(f"{SVG}text")]
    assert "<b>Agile</b>" in labels  # the parser unescaped it: it was text, not markup
    assert len(svg.findall(f"{SVG}rect")) == 2
