"""No cache keeps what a signed-in user sees, or personal data (issue 12.3): every route of
`app.url_map`, walked through the authorization matrix's world as each kind of visitor."""

import pytest

from tests.test_authorization_matrix import ROWS, VISITORS, build_world, url_for_row

SIGNED_IN_VISITORS = [kind for kind in VISITORS if kind != "anon"]


@pytest.fixture
def matrix_app(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a crash shows up as a 500 answer
    return app


def _client_as(app, world, kind):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = world.visitor(kind).get_id()
        session["_fresh"] = True
    return client


def test_every_get_route_answers_a_signed_in_user_private_no_store(matrix_app):
    app = matrix_app
    world = build_world()
    clients = {kind: _client_as(app, world, kind) for kind in SIGNED_IN_VISITORS}
    rows = [row for row in ROWS if row.method == "GET" and row.endpoint != "static"]
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if "GET" in r.methods}
    assert endpoints - {"static"} <= {row.endpoint for row in rows}  # the whole url_map
    wrong = []
    for row in rows:
        url = url_for_row(app, row, world)
        for kind, client in clients.items():
            response = client.get(url)  # pages, downloads, refusals and redirects alike
            if response.headers.get("Cache-Control") != "private, no-store":
                wrong.append(
                    f"{url} as {kind} ({response.status_code}): "
                    f"{response.headers.get('Cache-Control')!r}"
                )
    assert not wrong, "\n".join(wrong)


def test_post_answers_to_a_signed_in_user_are_private_no_store(matrix_app):
    world = build_world()
    client = _client_as(matrix_app, world, "owner")
    for row in ROWS:
        if row.method == "POST" and row.endpoint in ("account.profile", "account.password"):
            response = client.post(url_for_row(matrix_app, row, world), data={})
            assert response.headers["Cache-Control"] == "private, no-store", row.endpoint


def test_personal_data_downloads_are_private_no_store(app, client, make_user, login):
    """The registrations exports, the certificate PDF, the data export and the calendar feed
    (the feed is fetched by calendar apps without signing in)."""
    world = build_world()
    feed = client.get(f"/calendar/{world.owner.calendar_token}.ics")
    assert feed.status_code == 200
    assert feed.headers["Cache-Control"] == "private, no-store"

    owner = _client_as(app, world, "owner")
    staff = _client_as(app, world, "staff")
    slug = world.edition.slug
    for who, url in (
        (owner, f"/me/certificates/{world.certificate.id}.pdf"),
        (owner, "/privacy/export.json"),
        (staff, f"/staff/editions/{slug}/registrations/export.csv"),
        (staff, f"/staff/editions/{slug}/registrations/export.xlsx"),
    ):
        response = who.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "private, no-store", url


def test_public_pages_for_anonymous_visitors_and_static_files_stay_cacheable(app, client):
    world = build_world()
    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")
    signed_in = _client_as(app, world, "owner")
    assert "no-store" not in signed_in.get("/static/css/app.css").headers.get("Cache-Control", "")
