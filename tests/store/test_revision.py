"""The start-up shortcut past alembic: the head read from file names is alembic's head, and a database
stamped older is still migrated."""

import asyncio
import sqlite3
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from bot.store.db import MIGRATIONS, newest_revision, open_database


def test_newest_revision_is_alembics_head() -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_heads() == [newest_revision()]


def test_a_database_stamped_older_is_migrated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'n.db'}"

    async def open_and_close() -> None:
        await (await open_database(url)).dispose()

    asyncio.run(open_and_close())
    with sqlite3.connect(tmp_path / "n.db") as db:
        db.execute("DROP TABLE untold")
        db.execute("ALTER TABLE entries DROP COLUMN story_reason")
        db.execute("ALTER TABLE entries DROP COLUMN story_language")
        db.execute("ALTER TABLE entries DROP COLUMN meaning_kept")
        db.execute("UPDATE alembic_version SET version_num = '0007'")
    asyncio.run(open_and_close())
    with sqlite3.connect(tmp_path / "n.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(newest_revision(),)]
        assert db.execute("SELECT count(*) FROM untold").fetchone() == (0,)
        assert db.execute("SELECT count(*) FROM entries WHERE NOT meaning_kept").fetchone() == (0,)
