"""Makes docs/trend-demo.png, the chart README shows: `newsbot trend` on the demo data.

Run from the repository root: .venv/bin/python docs/trend_demo.py
The bundled demo feeds (bot/demo/feeds, read as file:// URLs) are polled once into a SQLite file in a
temporary folder with the starter rules, then `newsbot trend` draws the six starter topics per hour over the
two days the demo's stories were published in.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot import starter  # noqa: E402
from bot.demo.server import FEEDS, NAMES  # noqa: E402

TOPICS = ["troop-deployment", "estonia", "kaja-kallas", "sanctions", "election-results", "cyber-attack-infrastructure"]


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="newsbot-trend-demo-") as folder:
        config = Path(folder) / "config.yaml"
        feeds = [{"url": (FEEDS / file).as_uri(), "name": name, "fulltext": False} for file, name in NAMES.items()]
        config.write_text(yaml.safe_dump({"database": "sqlite:///demo.db", "rules": str(starter.RULES), "feeds": feeds}))
        newsbot = [sys.executable, "-m", "bot"]
        subprocess.run([*newsbot, "poll", "-c", str(config), "--once"], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        chart = ROOT / "docs" / "trend-demo.png"
        until = ["--since", "2d", "--until", "2024-03-15"]
        subprocess.run([*newsbot, "trend", *TOPICS, "-c", str(config), *until, "--png", str(chart)], check=True, cwd=ROOT)


if __name__ == "__main__":
    main()
