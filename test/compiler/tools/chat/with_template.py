#!/usr/bin/env python3
"""Copies a checkpoint directory with another chat template.

  with_template.py SRC DST TEMPLATE   tokenizer_config.json's chat_template
                                       becomes the text of TEMPLATE
  with_template.py SRC DST -          the checkpoint has no chat_template
"""
import json
import os
import shutil
import sys

src, dst, template = sys.argv[1:4]
shutil.copytree(src, dst)
path = os.path.join(dst, "tokenizer_config.json")
with open(path) as f:
    config = json.load(f)
if template == "-":
    config.pop("chat_template", None)
else:
    with open(template) as f:
        config["chat_template"] = f.read()
with open(path, "w") as f:
    json.dump(config, f, indent=1)
