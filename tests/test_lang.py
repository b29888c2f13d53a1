"""The package's one language detector (training and evaluation must agree on it)."""

import pytest

from tooltune.errors import TooltuneError
from tooltune.lang import LANG_CHOICES, LANGS, check_lang, detect_lang, dialogue_lang, lang_or_en
from tooltune.messages import Message


def test_detect_lang_exact_values():
    assert [detect_lang(t) for t in ("What is 23*47?", "现在几点了？", "Pourquoi?", "㐀", "", "12:00 東京")] == ["en", "zh", "en", "zh", "en", "zh"]


def test_a_dialogue_is_in_the_language_of_its_first_question():
    zh_first = [Message("system", "You are helpful."), Message("user", "北京天气怎么样？"), Message("assistant", "Sunny."), Message("user", "thanks")]
    en_first = [Message("user", "Weather in Beijing?"), Message("assistant", "晴"), Message("user", "谢谢")]
    assert (dialogue_lang(zh_first), dialogue_lang(en_first), dialogue_lang([])) == ("zh", "en", "en")



def test_one_language_list_and_its_checks():
    assert (LANGS, LANG_CHOICES) == (("en", "zh"), ("auto", "en", "zh"))
    assert [lang_or_en(x) for x in ("zh", "en", "fr", None, "")] == ["zh", "en", "en", "en", "en"]
    assert (check_lang("zh"), check_lang("auto", "--prompt-lang", LANG_CHOICES)) == ("zh", "auto")
    with pytest.raises(TooltuneError, match=r"^--lang 'fr': use one of en, zh$"):
        check_lang("fr")
    with pytest.raises(TooltuneError, match=r"^--prompt-lang 'auto': use one of en, zh$"):
        check_lang("auto", "--prompt-lang")
