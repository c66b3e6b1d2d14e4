"""Audit: outcomes by timepoint, statistics, tables, figures and de-identified exports.

Read-only over the database (``storage.engine.read_session``); ``command`` is
``pro-app export``. It may import ``storage``, ``models`` and ``surveys``; no feature
package imports it except ``nurse`` for its ``statistics``, and only ``web`` for the rest.
"""
