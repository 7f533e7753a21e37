"""Linear Alembic revisions, oldest first: 0001_..., 0002_... (each names its down_revision)."""
