"""factory_boy factories for every model; they commit, like the app does."""

import functools
from datetime import date, time, timedelta

import factory
from factory.alchemy import SQLAlchemyModelFactory

from schoolmgr.extensions import db
from schoolmgr.models import (
    Attendance,
    AttendanceMethod,
    AttendanceStatus,
    Certificate,
    Country,
    Edition,
    EditionFormat,
    EditionKind,
    EditionModule,
    EditionSeatQuota,
    EditionStatus,
    Material,
    MaterialKind,
    Module,
    Registration,
    RegistrationMode,
    RegistrationStatus,
    Role,
    Session,
    User,
    utcnow,
)
from schoolmgr.timeutils import to_utc

PASSWORD = "correct horse battery"


@functools.cache
def password_hash() -> str:
    """Scrypt is slow on purpose; hash the shared test password once per run."""
    user = User()
    user.set_password(PASSWORD)
    return user.password_hash


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"


class UserFactory(BaseFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.org")
    full_name = factory.Sequence(lambda n: f"Participant Number{n}")
    role = Role.PARTICIPANT
    country = Country.SERBIA
    institution = "Ministry of Public Administration"
    position = "Policy Officer"
    active = True
    password_hash = factory.LazyFunction(password_hash)

    class Params:
        staff = factory.Trait(role=Role.STAFF)
        admin = factory.Trait(role=Role.ADMIN)
        trainer = factory.Trait(role=Role.TRAINER)
        coordinator = factory.Trait(
            role=Role.COORDINATOR, coordinator_country=factory.SelfAttribute("country")
        )


class ModuleFactory(BaseFactory):
    class Meta:
        model = Module

    name = factory.Sequence(lambda n: f"Module {n}")
    slug = factory.Sequence(lambda n: f"module-{n}")
    summary = "A module of the school."
    description = "What the module teaches."


class EditionFactory(BaseFactory):
    """A published, open edition starting in 30 days, registration open now."""

    class Meta:
        model = Edition

    title = factory.Sequence(lambda n: f"Seasonal School {n}")
    slug = factory.Sequence(lambda n: f"seasonal-school-{n}")
    kind = EditionKind.SEASONAL_SCHOOL
    format = EditionFormat.IN_PERSON
    venue = "Budva, Montenegro"
    online_url = ""
    timezone = "Europe/Belgrade"
    start_date = factory.LazyFunction(lambda: utcnow().date() + timedelta(days=30))
    end_date = factory.LazyAttribute(lambda o: o.start_date + timedelta(days=4))
    registration_opens_at = factory.LazyFunction(lambda: utcnow() - timedelta(days=1))
    registration_closes_at = factory.LazyAttribute(
        lambda o: to_utc(o.start_date - timedelta(days=1), time(23, 59), o.timezone)
    )
    capacity = 10
    registration_mode = RegistrationMode.OPEN
    status = EditionStatus.PUBLISHED
    description = "An edition of the school."
    certificate_threshold = 80

    class Params:
        past = factory.Trait(
            start_date=date(2019, 9, 16),
            end_date=date(2019, 9, 20),
            registration_opens_at=to_utc(date(2019, 6, 1), time(9), "Europe/Belgrade"),
            registration_closes_at=to_utc(date(2019, 8, 31), time(23), "Europe/Belgrade"),
        )
        draft = factory.Trait(status=EditionStatus.DRAFT)
        moderated = factory.Trait(registration_mode=RegistrationMode.MODERATED)


class EditionSeatQuotaFactory(BaseFactory):
    class Meta:
        model = EditionSeatQuota

    edition = factory.SubFactory(EditionFactory)
    country = Country.SERBIA
    seats = 2


def set_quotas(edition, **seats) -> None:
    """Reserve seats per country by code, e.g. set_quotas(edition, RS=2, AL=2, OTHER=1)."""
    for code, n in seats.items():
        EditionSeatQuotaFactory(edition=edition, country=Country(code), seats=n)
    db.session.refresh(edition)


class EditionModuleFactory(BaseFactory):
    class Meta:
        model = EditionModule

    edition = factory.SubFactory(EditionFactory)
    module = factory.SubFactory(ModuleFactory)
    position = factory.Sequence(lambda n: n)

    @factory.post_generation
    def trainers(self, create, extracted, **kwargs):
        if extracted:
            self.trainers.extend(extracted)
            if create:
                db.session.commit()


class SessionFactory(BaseFactory):
    """A 3-hour morning session on the edition's first day (local time)."""

    class Meta:
        model = Session

    edition_module = factory.SubFactory(EditionModuleFactory)
    starts_at = factory.LazyAttribute(
        lambda o: to_utc(
            o.edition_module.edition.start_date, time(9, 30), o.edition_module.edition.timezone
        )
    )
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + timedelta(hours=3))
    room = "Plenary hall"
    online_url = ""
    position = 0
    checkin_code = factory.Sequence(lambda n: f"C{n:05d}")


class RegistrationFactory(BaseFactory):
    class Meta:
        model = Registration

    user = factory.SubFactory(UserFactory)
    edition = factory.SubFactory(EditionFactory)
    status = RegistrationStatus.ACCEPTED
    waitlist_position = None
    motivation = "To learn from peers."
    needs = ""
    consent_at = factory.LazyFunction(utcnow)

    @factory.post_generation
    def modules(self, create, extracted, **kwargs):
        if extracted:
            self.modules.extend(extracted)
            if create:
                db.session.commit()


class AttendanceFactory(BaseFactory):
    class Meta:
        model = Attendance

    session = factory.SubFactory(SessionFactory)
    registration = factory.SubFactory(
        RegistrationFactory, edition=factory.SelfAttribute("..session.edition_module.edition")
    )
    status = AttendanceStatus.PRESENT
    method = AttendanceMethod.TRAINER
    recorded_at = factory.LazyFunction(utcnow)


class MaterialFactory(BaseFactory):
    class Meta:
        model = Material

    edition_module = factory.SubFactory(EditionModuleFactory)
    title = factory.Sequence(lambda n: f"Slides {n}")
    kind = MaterialKind.LINK
    url = "https://example.org/slides"


class CertificateFactory(BaseFactory):
    class Meta:
        model = Certificate

    registration = factory.SubFactory(RegistrationFactory)
    serial = factory.Sequence(lambda n: f"TEST-{n:06d}")
    verification_code = factory.Sequence(lambda n: f"CODE-{n:08d}")
    snapshot = factory.LazyAttribute(lambda o: {"name": o.registration.user.full_name})
    pdf_name = factory.Sequence(lambda n: f"cert-{n}.pdf")
    sha256 = "0" * 64
