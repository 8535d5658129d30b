"""A request that is not a mapping (a list, a string, null from a JSON body) is an InputError, not a crash."""
from __future__ import annotations

import pytest

from validator.api import load_models
from validator.kinds import InputError


@pytest.fixture(scope="module")
def models(project_root_module):
    return load_models(project_root_module)


@pytest.fixture(scope="module")
def project_root_module():
    from pathlib import Path

    return Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("bad", [[1, 2], None, "x", 3])
def test_scorecard_and_segments_refuse_non_mappings(models, bad):
    for call in (models["fraud_risk"].score, models["fraud_risk"].explain, models["customer_segments"].assign):
        with pytest.raises(InputError, match="must be a mapping of input name to value"):
            call(bad)


@pytest.mark.parametrize("bad, words", [({"a": 1}, "items must be a list of mappings"), (None, "items must be a list"),
                                        ([1], "every item must be a mapping"), ("abc", "items must be a list")])
def test_ranking_refuses_items_that_are_not_mappings(models, bad, words):
    with pytest.raises(InputError, match=words):
        models["search_ranking"].rank(bad)
    with pytest.raises(InputError, match="an item must be a mapping"):
        models["search_ranking"].score_item([1])
