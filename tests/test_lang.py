"""The package's one language detector (training and evaluation must agree on it)."""

from tooltune.lang import detect_lang, dialogue_lang
from tooltune.messages import Message


def test_detect_lang_exact_values():
    assert [detect_lang(t) for t in ("What is 23*47?", "现在几点了？", "Pourquoi?", "㐀", "", "12:00 東京")] == ["en", "zh", "en", "zh", "en", "zh"]


def test_a_dialogue_is_in_the_language_of_its_first_question():
    zh_first = [Message("system", "You are helpful."), Message("user", "北京天气怎么样？"), Message("assistant", "Sunny."), Message("user", "thanks")]
    en_first = [Message("user", "Weather in Beijing?"), Message("assistant", "晴"), Message("user", "谢谢")]
    assert (dialogue_lang(zh_first), dialogue_lang(en_first), dialogue_lang([])) == ("zh", "en", "en")

