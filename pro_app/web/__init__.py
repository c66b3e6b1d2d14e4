"""Web: Flask blueprints, one per area, and the staff forms' helpers.

The top layer: routes read the request, call a feature package (``nurse``, ``followup``,
``messaging``, ``scheduling``, ``enrolment``, ``accounts``, ``audit``) and render its
result. It may import any of them, ``storage`` and ``models``; nothing imports ``web``
except the app factory.
"""

from flask import Flask, url_for

STAFF_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        "img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    ),
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
HSTS = "max-age=31536000; includeSubDomains"  # one year; production serves only HTTPS


def _staff_headers(response):
    """Security headers for every page; patient pages set stricter ones of their own."""
    for name, value in STAFF_HEADERS.items():
        response.headers.setdefault(name, value)
    if response.mimetype == "text/html" and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"  # pages hold patient data
    return response


def _strict_transport(response):
    """Production is HTTPS only (PUBLIC_BASE_URL must be https://): browsers remember that."""
    response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def register_blueprints(app: Flask) -> None:
    from . import (
        admin,
        audit,
        auth,
        dev,
        form_kept,
        health,
        input_guard,
        local_time,
        patient_actions,
        patient_survey,
        patients,
        sms,
        staff_session,
        static_files,
        vendor,
    )

    input_guard.init_app(app)
    form_kept.init_app(app)
    staff_session.init_app(app)
    static_files.init_app(app)
    local_time.init_app(app)

    app.register_blueprint(health.bp)
    app.register_blueprint(vendor.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(patients.bp)
    app.register_blueprint(patient_actions.bp)
    app.register_blueprint(sms.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(patient_survey.bp)
    settings = app.extensions["pro_settings"]
    if not settings.production and settings.sms_backend == "outbox":
        app.register_blueprint(dev.bp)  # answers 404 unless the dev outbox is turned on
    app.jinja_env.globals["dev_outbox"] = lambda: settings.dev_outbox_enabled
    app.jinja_env.globals["plotly_url"] = lambda: url_for(
        "vendor.plotly_js", version=vendor.plotly_version()
    )
    app.jinja_env.globals["plotly_bundled_style_ids"] = vendor.plotly_bundled_style_ids
    app.after_request(_staff_headers)
    if settings.production:
        app.after_request(_strict_transport)
