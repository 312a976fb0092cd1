"""Public pages are reused for a few seconds for anonymous visitors, never for anyone else."""

import re

import pytest

from schoolmgr import pagecache
from tests.querycount import count_queries


def token_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def without_token(page: str) -> str:
    """The page as every visitor sees it: the CSRF token is signed anew for each response, and
    its timestamp changes when a second passes."""
    return page.replace(token_of(page), "")


@pytest.fixture
def cached(app):
    app.config["PUBLIC_PAGE_CACHE_SECONDS"] = 60
    pagecache.clear()
    yield app
    pagecache.clear()


def test_off_unless_configured(client, make_edition):
    client.get("/")
    make_edition(title="Announced a second later")

    assert "Announced a second later" in client.get("/").text


def test_anonymous_visitors_get_the_page_without_any_query(cached, client, make_edition):
    slug = make_edition(title="Rapid Innovation Lab").slug
    first = client.get("/")
    client.get(f"/editions/{slug}")
    make_edition(title="Announced a second later")

    with count_queries() as queries:
        again = client.get("/")
        page = client.get(f"/editions/{slug}")

    assert without_token(again.text) == without_token(first.text)
    assert "Announced a second later" not in again.text
    assert page.status_code == 200 and "Rapid Innovation Lab" in page.text
    assert queries.count == 0
    assert again.headers["Content-Security-Policy"]  # headers are still set per response
    pagecache.clear()
    assert "Announced a second later" in client.get("/").text


def test_signed_in_visitors_and_pending_messages_bypass_the_cache(
    cached, client, login, make_edition
):
    client.get("/")
    make_edition(title="Announced a second later")

    with client.session_transaction() as session:
        session["_flashes"] = [("info", "You have been signed out.")]
    with_message = client.get("/")
    login()
    signed_in = client.get("/")

    assert "You have been signed out." in with_message.text
    assert "Announced a second later" in with_message.text
    assert "Announced a second later" in signed_in.text


def test_unusual_query_strings_and_errors_are_not_cached(cached, client, make_edition):
    client.get("/?utm_source=newsletter")
    assert client.get("/editions/not-yet").status_code == 404
    make_edition(title="Announced a second later", slug="not-yet")

    assert "Announced a second later" in client.get("/?utm_source=newsletter").text
    assert client.get("/editions/not-yet").status_code == 200


def test_a_visitor_served_a_cached_page_can_still_switch_language(cached, app, make_edition):
    """The cached page's language menu carried the first visitor's CSRF token, so everyone
    else served that page was refused with a 400 when choosing a language."""
    app.config["WTF_CSRF_ENABLED"] = True
    make_edition(title="Rapid Innovation Lab")
    first, second = app.test_client(), app.test_client()
    filled, served = first.get("/").text, second.get("/").text
    answer = second.post(
        "/language",
        data={"csrf_token": token_of(served), "language": "sq", "next": "/"},
        headers={"Referer": "http://localhost/"},
    )

    assert token_of(served) != token_of(filled)
    assert without_token(served) == without_token(filled)
    assert answer.status_code == 303
    assert "Edicionet" in second.get("/").text  # Albanian from now on
