"""Storage: how the app reaches its database, with no feature logic.

``engine`` builds engines and session scopes for SQLite and PostgreSQL, ``database`` binds
one engine per app and one session per request, ``migrate`` runs the Alembic migrations
and ``upsert`` writes a row once (``INSERT ... ON CONFLICT DO NOTHING``). It may import
``pro_app.models`` and libraries, never a feature package or ``pro_app.web``.
"""
