"""`located`: an error about one item of a file names the item; other errors pass unchanged."""

from __future__ import annotations

import pytest

from tooltune.errors import BackendError, TooltuneError, located


def test_located_prefixes_the_place_of_a_user_error():
    with pytest.raises(TooltuneError) as raised:
        with located("data.jsonl:3"):
            raise BackendError("a sample needs a 'messages' list")
    assert str(raised.value) == "data.jsonl:3: a sample needs a 'messages' list"


def test_located_leaves_other_errors_and_clean_runs_alone():
    with pytest.raises(KeyError) as raised:
        with located("data.jsonl:3"):
            raise KeyError("messages")
    assert raised.value.args == ("messages",)
    with located("data.jsonl:4"):
        value = 7
    assert value == 7
