"""Browser fixtures shared by the end-to-end tests: they live in
test_browser_consultation.py and are made available to every module of tests/e2e here."""

from tests.e2e.test_browser_consultation import (  # noqa: F401
    artifacts,
    browser,
    chromium_path,
    client_built,
    other_browser,
)
