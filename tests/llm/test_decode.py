"""The decoding loop's text relay: streamed text never shows a stop string or half a character."""

from tooltune.llm.decode import TextRelay


def test_a_stop_string_split_across_tokens_is_never_streamed():
    shown: list[str] = []
    relay = TextRelay(["\nObservation:"], shown.append)
    text = ""
    for piece in ["Action: calc", "ulator\nAction Input: {}", "\nObs", "ervation:", " 5"]:
        text += piece
        if relay.update(text):
            break
    assert relay.stopped and piece == "ervation:"
    assert relay.finish(text) == "Action: calculator\nAction Input: {}"
    assert "".join(shown) == "Action: calculator\nAction Input: {}"


def test_an_unfinished_character_is_held_back_until_it_is_whole():
    shown: list[str] = []
    relay = TextRelay([], shown.append)
    relay.update("北京\ufffd")
    assert shown == ["北京"]
    relay.update("北京天气")
    assert relay.finish("北京天气") == "北京天气" and "".join(shown) == "北京天气"
