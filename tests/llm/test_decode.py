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


def test_only_a_tail_that_begins_a_stop_string_is_held_back():
    shown: list[str] = []
    relay = TextRelay(["<tool_response>", "\nObservation:"], shown.append)
    for text, expected in [("<", ""), ("<tool", ""), ("<tool_", ""), ("<tool_c", "<tool_c"), ("<tool_call>\n", "<tool_call>"),
                           ("<tool_call>\n\nObs", "<tool_call>\n"), ("<tool_call>\n\nObs!", "<tool_call>\n\nObs!"), ("<tool_call>\n\nObs!<tool_respo", "<tool_call>\n\nObs!")]:
        relay.update(text)
        assert "".join(shown) == expected, text
    assert relay.update("<tool_call>\n\nObs!<tool_response>") and "".join(shown) == "<tool_call>\n\nObs!"
