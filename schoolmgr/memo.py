"""Values computed once per request (e.g. counts a page and its tabs both show)."""

from flask import has_request_context, request


def request_memo(name: str) -> dict:
    """A dict named `name` that lives as long as the current request.

    Kept on the request, not on `g`: an app context can outlive one request (the tests hold one
    around many), and a count must not carry over to the next page. Outside a request the dict
    is new at every call, so nothing is remembered.
    """
    if not has_request_context():
        return {}
    memos = request.__dict__.setdefault("_schoolmgr_memos", {})
    return memos.setdefault(name, {})
