"""Accounts: staff users, their passwords and the access rules that guard patient data.

``users`` creates accounts, ``passwords`` hashes and checks them (argon2), ``access``
holds the role checks, the one-site rule and the access log. It may import
``pro_app.storage`` and ``pro_app.models``, never a feature package or ``pro_app.web``.
"""
