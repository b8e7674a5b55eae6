"""Browser tests (Playwright, Debian Chromium): a package, so that its conftest
and helpers never shadow tests/conftest.py."""
