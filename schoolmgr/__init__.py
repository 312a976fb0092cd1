"""schoolmgr: seasonal schools and events of a regional school of public administration."""

import logging
import os
from pathlib import Path

from flask import Flask

from config import CONFIGS, ProductionConfig

log = logging.getLogger(__name__)

# The factory imports the areas inside the register_* functions below: importing any
# `schoolmgr.x` runs this file first, so the areas can only be loaded once it has.


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application; `test_config` overrides the testing configuration."""
    app = Flask(
        __name__,
        template_folder="../templates",
        static_folder="../static",
        instance_path=str(Path(__file__).resolve().parent.parent / "instance"),
    )
    if test_config is not None:
        config_class = CONFIGS["testing"]
    else:
        config_class = CONFIGS[os.environ.get("FLASK_CONFIG", "development")]
    if config_class is ProductionConfig:
        ProductionConfig.validate()
    app.config.from_object(config_class)
    if test_config is None:
        # Read at creation time, so that the process environment always wins.
        for key, env in (("SECRET_KEY", "SECRET_KEY"), ("SQLALCHEMY_DATABASE_URI", "DATABASE_URL")):
            if os.environ.get(env):
                app.config[key] = os.environ[env]
    if test_config:
        app.config.update(test_config)
    app.config["MAX_CONTENT_LENGTH"] = (app.config["MAX_UPLOAD_MB"] + 1) * 1024 * 1024
    from schoolmgr.storage import check_settings

    check_settings(app.config)

    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    register_extensions(app)
    register_blueprints(app)
    register_template_helpers(app)
    register_errorhandlers(app)
    register_security(app)
    register_commands(app)
    warn_if_slow_pdf_subsetting(app)
    return app


def register_extensions(app: Flask) -> None:
    from schoolmgr import auth  # noqa: F401  (registers the user loader)
    from schoolmgr.extensions import babel, csrf, db, limiter, login_manager, migrate
    from schoolmgr.forms import use_quick_html_params
    from schoolmgr.i18n import select_locale

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or "memory://")
    limiter.init_app(app)
    use_quick_html_params()


def register_blueprints(app: Flask) -> None:
    from schoolmgr.security import install_url_converters

    install_url_converters(app)  # before the first route: bounded <int:...> ids
    from schoolmgr.auditlog.routes import bp as audit_bp
    from schoolmgr.auth.routes import bp as auth_bp
    from schoolmgr.certificates.routes import bp as certificates_bp
    from schoolmgr.health import bp as health_bp
    from schoolmgr.privacy.routes import bp as privacy_bp
    from schoolmgr.public.routes import bp as public_bp
    from schoolmgr.registration.routes import bp as registration_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(certificates_bp)
    from schoolmgr.credentials.routes import bp as credentials_bp

    app.register_blueprint(credentials_bp)
    app.register_blueprint(audit_bp)

    from schoolmgr.account.routes import bp as account_bp
    from schoolmgr.people.routes import bp as people_bp
    from schoolmgr.programme.routes import bp as programme_bp
    from schoolmgr.reports.routes import bp as reports_bp

    app.register_blueprint(programme_bp)
    app.register_blueprint(people_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(privacy_bp)
    app.register_blueprint(registration_bp)

    from schoolmgr.attendance.routes import bp as attendance_bp
    from schoolmgr.materials.routes import bp as materials_bp
    from schoolmgr.trainer.routes import bp as trainer_bp

    app.register_blueprint(trainer_bp)
    app.register_blueprint(materials_bp)
    app.register_blueprint(attendance_bp)

    from schoolmgr.evaluations.routes import bp as evaluations_bp

    app.register_blueprint(evaluations_bp)
    from schoolmgr.announcements.routes import bp as announcements_bp

    app.register_blueprint(announcements_bp)
    from schoolmgr.nominations.routes import bp as nominations_bp

    app.register_blueprint(nominations_bp)


def register_template_helpers(app: Flask) -> None:
    from schoolmgr import mail, templating

    templating.init_app(app)
    mail.init_app(app)


def register_errorhandlers(app: Flask) -> None:
    from schoolmgr import errors

    errors.init_app(app)


def register_security(app: Flask) -> None:
    from schoolmgr import security

    security.init_app(app)


def register_commands(app: Flask) -> None:
    from schoolmgr import cli

    cli.init_app(app)


def warn_if_slow_pdf_subsetting(app: Flask) -> None:
    """WeasyPrint falls back to fontTools subsetting, 5-6x slower, without libharfbuzz-subset."""
    if app.testing:
        return
    from weasyprint.text import ffi  # the library WeasyPrint itself loaded, or None

    if ffi.harfbuzz_subset is None:
        log.warning(
            "libharfbuzz-subset is not installed: PDF rendering will be several times slower. "
            "Install it (Debian/Ubuntu: apt-get install libharfbuzz-subset0)."
        )
