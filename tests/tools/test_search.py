"""The offline web_search backend: BM25 over a folder of text files."""

import pytest

from tooltune.errors import TooltuneError
from tooltune.tools.builtins.search import LocalSearch, web_search_tool


def test_default_docs_answer_english_and_chinese():
    t = web_search_tool()
    assert "8,849" in t.invoke({"query": "height of Mount Everest"}).output
    assert "北京" in t.invoke({"query": "北京人口"}).output.split("\n")[0]


def test_user_folder(tmp_path):
    (tmp_path / "a.md").write_text("Zebras are striped.\n\nPenguins live in Antarctica.")
    (tmp_path / "b.txt").write_text("The answer is 42.")
    hits = LocalSearch(tmp_path).search("where do penguins live", k=1)
    assert hits == [("a.md", "Penguins live in Antarctica.")]
    assert web_search_tool(tmp_path).invoke({"query": "unrelatedword"}).output == '{"results": []}'


def test_missing_or_empty_folder_is_a_clear_error(tmp_path):
    with pytest.raises(TooltuneError, match="does not exist"):
        LocalSearch(tmp_path / "nope")
    with pytest.raises(TooltuneError, match="no .txt or .md"):
        LocalSearch(tmp_path)
