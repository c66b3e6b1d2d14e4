"""Nurse: what a nurse sees and does for the patients of their site.

``dashboard`` is the patient list with its filters, ``patient_record`` gathers one
patient's page, ``trajectory`` draws their scores over time against ``expected_course``
(the cohort's band), ``actions`` are the changes a nurse makes (resend, pause, new number,
safety events) and ``phone_entry`` saves answers read out over the phone through the same
path as the web form. It may import ``followup``, ``enrolment``, ``scheduling``,
``messaging``, ``audit`` (statistics only), ``alerts``, ``storage``, ``models``, ``surveys``
and ``notifications``; never ``demo`` or ``web``.
"""
