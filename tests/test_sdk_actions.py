"""The bench's rasa_sdk adapter (benchmarks/sdk_actions.py) serves every action
of the product, under the product's names, without constructor arguments."""

from __future__ import annotations

import pickle

from benchmarks import sdk_actions
from polkuopas.bot_actions import ACTIONS


def test_every_product_action_has_an_adapter():
    assert [a.NAME for a in sdk_actions.SDK_ACTIONS] == [a.NAME for a in ACTIONS]
    for adapter, action in zip(sdk_actions.SDK_ACTIONS, ACTIONS, strict=True):
        assert issubclass(adapter, action)
        assert adapter().name() == action.NAME  # rasa_sdk calls cls()


def test_adapters_are_found_by_name_as_sanic_needs():
    for adapter in sdk_actions.SDK_ACTIONS:
        assert getattr(sdk_actions, adapter.__name__) is adapter
        assert pickle.loads(pickle.dumps(adapter)) is adapter
