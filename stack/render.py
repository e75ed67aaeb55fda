"""The engines' config files, written under settings.CONF: each file of stack/templates
with its ${NAME}s filled from settings.template_values(), and spark-defaults.conf from
settings.spark_conf(), the same settings game_events.spark.session() applies."""
from __future__ import annotations

import string
from pathlib import Path

from game_events import settings

TEMPLATES = Path(__file__).resolve().parent / "templates"


def render() -> None:
    values = settings.template_values()
    for src in sorted(TEMPLATES.rglob("*")):
        if src.is_file():
            dst = settings.CONF / src.relative_to(TEMPLATES)
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_text(string.Template(src.read_text()).substitute(values))
    spark = settings.CONF / "spark" / "spark-defaults.conf"
    spark.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"{key:<39} {value}\n" for key, value in settings.spark_conf().items() if value != ""]
    spark.write_text("# Written by `python -m stack render` from game_events.settings.spark_conf().\n"
                     "# Read by bin/spark-submit.\n" + "".join(lines))
