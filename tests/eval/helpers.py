"""Shared test helpers: the gold completion of a reference step, and a ScriptedLLM that plays a
perfect model on eval items (every step answered with the reference, rendered by the format)."""

from __future__ import annotations

from tooltune.eval.items import EvalItem, StepRef
from tooltune.formats import get_format
from tooltune.llm import ScriptedLLM
from tooltune.messages import Message


def gold_text(fmt_name: str, item: EvalItem, ref: StepRef) -> str:
    """What a perfect model writes for `ref`: the format's own training text for that step."""
    # Native models write their template's call syntax; hermes <tool_call> blocks stand in for it.
    fmt = get_format("json" if fmt_name == "native" else fmt_name, item.lang)
    msg = item.messages[ref.index]
    if ref.part is not None:
        call = msg.tool_calls[ref.part]
        msg = Message("assistant", None, tool_calls=[call], reasoning_content=msg.reasoning_content if ref.part == 0 else None)
    rendered = fmt.render([Message("user", "q"), msg], item.tools)
    return "".join(s.text for s in rendered.turns[-1].segments if s.train)


def gold_script(fmt_name: str, items: list[EvalItem], free_run: bool = True) -> list[str]:
    """Canned completions in the order a batch_size=1 run asks for them: each item's
    teacher-forced steps, then its free-running steps after the first (which is reused)."""
    out = []
    for item in items:
        steps = [gold_text(fmt_name, item, ref) for ref in item.reference_steps(fmt_name == "react")]
        out += steps + (steps[1:] if free_run else [])
    return out


def gold_llm(fmt_name: str, items: list[EvalItem]) -> ScriptedLLM:
    return ScriptedLLM(gold_script(fmt_name, items))


# A tiny chat template that renders the tool list, every message and every call, as a native
# (tools-aware) model template does; `PromptReadingLLM` answers only from what it renders.
TOOLS_TEMPLATE = (
    "{% if tools %}TOOLS:{% for t in tools %} {{ t['function']['name'] }}{% endfor %}{{ '\\n' }}{% endif %}"
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] if m['content'] is string else '' }}"
    "{% for c in m.get('tool_calls') or [] %}<call>{{ c['function']['name'] }}</call>{% endfor %}{{ '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


class PromptReadingLLM(ScriptedLLM):
    """A perfect native model that must read its prompt: the request is rendered through a real
    HF tokenizer's chat template (ChatRenderer, tools included), and the answer is chosen from what
    that text shows — the question, the tool list and how many assistant turns came before. A
    prompt without the item's tools, or with the wrong history, gets a wrong answer."""

    def __init__(self, items: list[EvalItem], tokenizer) -> None:
        from tooltune.formats.chat import ChatRenderer

        super().__init__([])
        tokenizer.chat_template = TOOLS_TEMPLATE
        self.renderer = ChatRenderer(tokenizer)
        self.answers: dict[tuple[str, str, int], str] = {}
        for item in items:
            names = " ".join(spec["function"]["name"] for spec in item.tools)
            question = next(m.text for m in item.messages if m.role == "user")
            for k, ref in enumerate(item.reference_steps(False)):
                self.answers[(question, names, k)] = gold_text("native", item, ref)
        self.prompts: list[str] = []

    def complete(self, request, on_text=None):
        import re

        from tooltune.llm.base import Completion

        prompt = self.renderer.prompt_text(request.rendered)
        self.prompts.append(prompt)
        tools = re.match(r"TOOLS: (.*)\n", prompt)
        question = re.search(r"<\|user\|>(.*?)\n<\|", prompt, re.S)
        key = (question.group(1) if question else "", tools.group(1) if tools else "", prompt.count("<|assistant|>") - 1)
        return Completion(self.answers.get(key, "I cannot tell from this prompt."), None, "stop")
