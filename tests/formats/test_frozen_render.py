"""interfaces.md rule 1: the json/react rendering of single-call samples is frozen byte for byte."""

import json
from pathlib import Path

import pytest

from .frozen_samples import all_renderings

GOLDEN = json.loads((Path(__file__).parent / "fixtures" / "single_call_render.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("key", sorted(GOLDEN))
def test_single_call_rendering_is_byte_identical(key):
    assert all_renderings()[key] == GOLDEN[key]
