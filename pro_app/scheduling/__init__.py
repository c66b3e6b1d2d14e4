"""Scheduling: what is due when, for each patient's follow-up.

``protocols`` reads the timepoints, ``plan`` turns a procedure into survey instances,
``invitations`` invites, reminds and expires them, ``tick`` runs one pass (and is safe in
several processes at once) and ``clock`` calls it every minute with APScheduler. It may
import ``followup`` (to start a text conversation), ``messaging`` (to queue texts),
``alerts``, ``storage``, ``models``, ``surveys`` and ``notifications``; never ``nurse``,
``enrolment``, ``demo`` or ``web``.
"""
