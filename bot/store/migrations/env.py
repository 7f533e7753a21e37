"""Alembic environment: always handed an open connection by bot.store.database.upgrade.

There is no alembic.ini: `faqbot db upgrade` and every start run the
migrations programmatically, on the connection (and inside the transaction)
that holds the migration lock.
"""
from alembic import context

from bot.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `faqbot db upgrade` (bot.store.database.upgrade), not the alembic command")
context.configure(connection=connection, target_metadata=metadata, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
