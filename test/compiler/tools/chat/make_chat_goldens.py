#!/usr/bin/env python3
"""Goldens for `llmc chat`'s rendering of the Llama 3 family's chat templates.

Renders a fixed conversation with each template as Hugging Face
transformers' apply_chat_template does (a sandboxed Jinja2 environment with
trim_blocks and lstrip_blocks, loopcontrols, raise_exception and
strftime_now), tokenizes the text with Hugging Face `tokenizers` (special
tokens parsed, no extra BOS: the template writes it) on the bundled example's
tokenizer.json, and writes goldens.json. llmc-chat-templates.test compares
the ids `llmc chat --verbose-prompt` feeds the model with these.

The templates: llama3 is examples/kjv-llama's tokenizer_config.json (Meta
Llama 3 Instruct's); llama31.jinja and llama32.jinja are the Llama 3.1 and
3.2 Instruct templates without their tool-use branches (llmc chat has no
tools): 3.1 writes a fixed "Today Date", 3.2 strftime_now's.

  pip install jinja2 tokenizers
  python3 test/compiler/tools/chat/make_chat_goldens.py
"""
import datetime
import json
import os

import jinja2
import jinja2.ext
import jinja2.sandbox
import tokenizers

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
KJV = os.path.join(ROOT, "examples", "kjv-llama")

# The conversation of the test: `llmc chat --max-new 0` answers nothing, so
# the assistant's turn is empty; the user's first line has spaces to trim.
SYSTEM = "Answer in the words of the King James Bible."
MESSAGES = [
    {"role": "system", "content": SYSTEM},
    {"role": "user", "content": "  Who made the heaven?  "},
    {"role": "assistant", "content": ""},
    {"role": "user", "content": "And the earth?"},
]
# What `--date` gives llmc chat for the 3.2 form (apply_chat_template's
# date_string keyword).
DATE = "01 Jan 2025"


def render(template, messages, **kwargs):
    env = jinja2.sandbox.ImmutableSandboxedEnvironment(
        trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda f: datetime.datetime.now().strftime(f)
    return env.from_string(template).render(
        messages=messages, bos_token="<|begin_of_text|>", eos_token="<|end_of_text|>",
        add_generation_prompt=True, **kwargs)


def main():
    tok = tokenizers.Tokenizer.from_file(os.path.join(KJV, "tokenizer.json"))
    with open(os.path.join(KJV, "tokenizer_config.json")) as f:
        llama3 = json.load(f)["chat_template"]
    forms = {
        "llama3": (llama3, {}),
        "llama31": (open(os.path.join(HERE, "llama31.jinja")).read(), {}),
        "llama32": (open(os.path.join(HERE, "llama32.jinja")).read(), {"date_string": DATE}),
    }
    out = {"system": SYSTEM, "messages": [m["content"] for m in MESSAGES if m["role"] == "user"],
           "date": DATE, "forms": {}}
    for name, (template, kwargs) in forms.items():
        text = render(template, MESSAGES, **kwargs)
        ids = tok.encode(text, add_special_tokens=False).ids
        out["forms"][name] = {"text": text, "ids": ids}
    with open(os.path.join(HERE, "goldens.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
