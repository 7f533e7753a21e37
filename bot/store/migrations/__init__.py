"""Alembic migrations of the faqbot database (run by bot.store.database.upgrade)."""
