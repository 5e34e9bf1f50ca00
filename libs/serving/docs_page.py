"""The Swagger UI page at ``/``, served without third-party requests.

BentoML's page embeds Google Tag Manager (a script and an iframe from www.googletagmanager.com),
which ``BENTOML_DO_NOT_TRACK`` does not remove: opening the docs of a service would report to
Google. ``LocalDocsPage`` cuts the tag manager's blocks out of the page and sends a
Content-Security-Policy that lets the browser load from the service itself only, so anything a
later BentoML adds to the page from elsewhere is blocked too.
"""

from __future__ import annotations

import re

from libs.serving.guards import RewrittenPage

DOCS_PAGE_PATH = "/"
# The page's inline scripts and styles are its own; every fetch stays on the service's origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline';"
    " img-src 'self' data:; connect-src 'self'; frame-src 'none'; object-src 'none'"
)
_TAG_MANAGER = re.compile(rb"<!-- Google Tag Manager.*?<!-- End Google Tag Manager[^>]*-->\s*", re.DOTALL)


def without_tag_manager(page: bytes) -> bytes:
    return _TAG_MANAGER.sub(b"", page)


class LocalDocsPage(RewrittenPage):
    """BentoML's docs page without the tag manager, and with a same-origin Content-Security-Policy."""

    path = DOCS_PAGE_PATH
    extra_headers = ((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),)

    def rewrite(self, body: bytes) -> bytes:
        return without_tag_manager(body)
