"""Follow-up: turning a patient's answers into records, whichever way they arrive.

``answer_saving`` stores answers (versioned rows, scores, key outcomes, red-flag alerts and
the on-call text) and closes a survey; the web form, the text conversation, nurse phone
entry and the demo all save through it. ``conversation`` asks a survey one question per
text, ``survey_pages`` lays a survey out as web pages, ``instruments`` is the app's view
of the questionnaires, ``key_outcomes`` and ``worsening`` read scores across time. It may
import ``pro_app.messaging``, ``pro_app.alerts``, ``pro_app.storage``, ``pro_app.models``,
``surveys`` and ``notifications``; never ``scheduling``, ``nurse``, ``demo`` or ``web``.
"""
