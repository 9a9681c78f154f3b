"""The reference pages in docs/ match the code that defines them."""

from pathlib import Path

import pytest

from risk.docs import PAGES

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("page", sorted(PAGES))
def test_generated_page_is_up_to_date(page):
    assert (ROOT / page).read_text(encoding="utf-8") == PAGES[page](), f"run `python -m risk.docs` to refresh {page}"
