"""The score stage's edge: what it reports when the day cannot be scored."""

from __future__ import annotations

import threading

import pytest

from risk.config import Params
from risk.exceptions import RiskDataError
from risk.paths import Paths
from risk.score.stage import Scorer


def test_a_table_that_cannot_be_read_is_the_error_even_when_no_model_can_load(tmp_path):
    """The book is read beside the loading of the models: when both fail, the missing table is the error (not the
    models' ModelNotFound), as when reading came first, and no thread is left behind to touch the scorer after the
    day has stopped."""
    paths = Paths.at(tmp_path)
    paths.validated.mkdir(parents=True)
    params = Params()
    threads = threading.active_count()
    with pytest.raises(RiskDataError) as stopped:
        Scorer(paths).day(params, as_of=params.data.as_of)
    assert (stopped.value.table, stopped.value.rule) == ("applications", "file_exists")
    assert threading.active_count() == threads
