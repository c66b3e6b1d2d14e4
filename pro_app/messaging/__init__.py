"""Messaging: every text in and out, and nothing about what an answer means.

``outbox`` queues and delivers texts exactly once (claims, retries, reconciliation with
the provider), ``timing`` holds the send windows and quiet hours, ``pacing`` shares a
send rate between sender threads, ``links`` makes and checks survey links, ``channels``
picks the provider (and its sender threads and rate) from the settings, ``failures``
decides what a failed delivery means for a number, and ``inbound`` stores texts and
delivery callbacks and routes a reply to the answer handler its caller passes in. It may
import ``pro_app.alerts``, ``pro_app.storage``, ``pro_app.models`` and ``notifications``;
never ``followup``, ``scheduling``, ``nurse``, ``demo`` or ``web``.
"""
