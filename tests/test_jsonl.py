"""The one JSONL reader (messages.iter_jsonl) and its bad-line policy, as each kind of caller uses it."""

import json

import pytest

from tooltune.data.io import import_file
from tooltune.data.store import Store
from tooltune.errors import TooltuneError
from tooltune.eval.runner import append_result, load_results
from tooltune.messages import BadLine, iter_jsonl, read_jsonl


def test_every_bad_line_is_reported_with_its_place_and_a_torn_tail_is_told_apart(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"a": 1}\n\n{bad\n\xff[1]\n[2]\n{"b": ')
    rows = list(iter_jsonl(path))
    assert rows == [
        (1, {"a": 1}),
        (3, BadLine(path, 3, "Expecting property name enclosed in double quotes", 10, False)),
        (4, BadLine(path, 4, "not UTF-8 at byte 0", 15, False)),
        (5, [2]),
        (6, BadLine(path, 6, "Expecting value", 24, True)),
    ]
    assert str(rows[1][1]) == f"{path}:3: not valid JSON (Expecting property name enclosed in double quotes)"


def test_a_file_that_must_be_whole_stops_at_its_first_bad_line(tmp_path):
    path = tmp_path / "corpus.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}\n{"a": \n', encoding="utf-8")
    with pytest.raises(TooltuneError, match=r"corpus.jsonl:3: not valid JSON \(Expecting value\): fix or delete that line$"):
        list(read_jsonl(path))
    path.write_text('{"a": 1}\n{"a": 2}', encoding="utf-8")  # no final newline: a whole line all the same
    assert list(read_jsonl(path)) == [(1, {"a": 1}), (2, {"a": 2})]
    with pytest.raises(TooltuneError, match="no such file"):
        list(read_jsonl(tmp_path / "missing.jsonl"))


def test_an_append_only_log_cuts_a_torn_tail_and_refuses_any_other_bad_line(tmp_path):
    path = tmp_path / "results.jsonl"
    path.write_bytes(b'{"item_id": "a"}\n{"item_id": "b"}\n{"item_id": "c')
    assert list(load_results(path)) == ["a", "b"]
    assert path.read_bytes() == b'{"item_id": "a"}\n{"item_id": "b"}\n'
    path.write_bytes(b'{"item_id": "a"}\n{"item_id": "b"}')  # whole, only its newline lost
    assert list(load_results(path)) == ["a", "b"]
    append_result(path, {"item_id": "c"})
    assert [row["item_id"] for _, row in read_jsonl(path)] == ["a", "b", "c"]
    path.write_bytes(b'{"item_id": "a"}\n{"item_id": \n{"item_id": "c"}\n')
    with pytest.raises(TooltuneError, match=r"results.jsonl:2: not valid JSON .*: delete that line"):
        load_results(path)


def test_an_import_reports_a_line_that_is_not_utf8_and_goes_on(tmp_path):
    good = json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]})
    path = tmp_path / "in.jsonl"
    path.write_bytes(good.encode() + b"\n\xfe\xff\n" + good.encode() + b"\n")
    report = import_file(Store(tmp_path / "c.db"), path)
    assert (report.added, report.errors) == (2, [f"{path}:2: ValueError: not valid JSON (not UTF-8 at byte 0)"])
