"""Static files: straight from the sources on the embedded defaults (`make run`, the tests);
after `collectstatic` (the image), hashed names cached for a year with gzip and brotli copies.

The collected case runs collectstatic on Parley's own static/ only: the image collects the
apps' files too (Django admin, the API docs) the same way, but that takes minutes.
"""

from __future__ import annotations

import pytest
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.management import call_command
from django.test import Client, override_settings

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore:No directory at")]

MANIFEST_STORAGE = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
A_YEAR_OR_MORE = 365 * 24 * 3600


def test_the_embedded_defaults_serve_static_files_from_the_sources(client):
    page = client.get("/login/")
    stylesheet = client.get("/static/css/parley.css")

    assert 'href="/static/css/parley.css"' in page.content.decode()
    assert stylesheet.status_code == 200
    assert b"".join(stylesheet.streaming_content).strip()


def test_collected_files_are_hashed_compressed_and_cached_for_a_year(tmp_path):
    with override_settings(
        STATIC_ROOT=tmp_path,
        STORAGES=MANIFEST_STORAGE,
        WHITENOISE_USE_FINDERS=False,
        STATICFILES_FINDERS=["django.contrib.staticfiles.finders.FileSystemFinder"],
    ):
        call_command("collectstatic", interactive=False, verbosity=0)
        hashed_url = staticfiles_storage.url("css/parley.css")
        browser = Client()  # a new handler: WhiteNoise indexes STATIC_ROOT as it starts
        page = browser.get("/login/")
        brotli = browser.get(hashed_url, HTTP_ACCEPT_ENCODING="gzip, br")
        gzip = browser.get(hashed_url, HTTP_ACCEPT_ENCODING="gzip")

    hashed_name = hashed_url.removeprefix("/static/")
    assert hashed_name != "css/parley.css" and hashed_name.startswith("css/parley.")
    assert (tmp_path / f"{hashed_name}.gz").exists()
    assert (tmp_path / f"{hashed_name}.br").exists()
    assert f'href="{hashed_url}"' in page.content.decode()
    assert brotli.status_code == 200
    assert brotli["Content-Encoding"] == "br"
    assert gzip["Content-Encoding"] == "gzip"
    cache_control = brotli["Cache-Control"]
    assert "immutable" in cache_control
    assert int(cache_control.split("max-age=")[1].split(",")[0]) >= A_YEAR_OR_MORE
