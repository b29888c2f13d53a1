"""Eval items from a corpus.db: approved samples only, with the store's labels and human scores."""


from tooltune.eval.evaluate import ModelSpec, run_eval
from tooltune.eval.items import load_items, smoke_eval_path
from tooltune.eval.runner import EvalSettings

from .helpers import gold_llm


def test_corpus_db_items_and_rubric(tmp_path):
    import tooltune.data.store as store_mod
    smoke = load_items(smoke_eval_path())
    db = tmp_path / "corpus.db"
    with store_mod.Store(db) as store:
        ids = [
            store.add_sample(item.sample, status="approved", expect_tool_call=item.expect_tool_call, lang=item.lang,
                             meta={"reference_answer": item.reference_answers} if item.reference_answers else None)
            for item in smoke[:4]
        ]
        store.add_sample(smoke[4].sample, status="draft")  # not approved: not evaluated
        store.set_human_score(ids[0], 5, "clean")
        store.set_human_score(ids[1], 0, "called a tool for a haiku")
    items = load_items(db)
    assert [i.id for i in items] == [f"sample{i}" for i in ids]
    assert [i.expect_tool_call for i in items] == [s.expect_tool_call for s in smoke[:4]]
    assert items[0].reference_answers == ["1093"] and items[1].human_score == 0
    assert len(load_items(db, status="draft")) == 1
    report = run_eval(items, [ModelSpec("tuned", lambda: gold_llm("json", items))], ["json"], EvalSettings(), tmp_path / "out",
                      str(db), batch_size=1, progress=False)
    assert report["runs"][0]["summary"]["e2e_success"] == 1.0
    # two en samples scored 5 and 0 (a violation), two zh ones unscored: counted, not averaged
    scored = {"scored": 2, "mean": 2.5, "usable_rate": 0.5, "violations": 1, "histogram": {"0": 1, "1": 0, "2": 0, "3": 0, "4": 0, "5": 1}}
    assert report["human_rubric"] == {"samples": 4, **scored, "per_lang": {"en": scored}}
