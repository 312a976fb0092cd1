"""Demo data: the school's modules, past and upcoming editions, people, registrations, attendance.

Idempotent: records are found by their natural keys (email, slug) and created only when missing.
Dates of the upcoming editions are relative to the day the data is loaded.
Long on purpose: mostly data (names, modules, institutions) and one seeding script, read top down.
"""

import random
from datetime import date, time, timedelta

import sqlalchemy as sa

from schoolmgr.evaluations.demo import seed_evaluations
from schoolmgr.extensions import db
from schoolmgr.models import (
    Attendance,
    AttendanceMethod,
    AttendanceStatus,
    Country,
    Edition,
    EditionFormat,
    EditionKind,
    EditionModule,
    EditionSeatQuota,
    EditionStatus,
    Gender,
    InstitutionType,
    Module,
    Nomination,
    Registration,
    RegistrationMode,
    RegistrationStatus,
    Role,
    Session,
    User,
    utcnow,
)
from schoolmgr.models.edition import CERTIFICATE_PARTICIPANT_LANGUAGE
from schoolmgr.text import fold
from schoolmgr.timeutils import to_utc

DEMO_PASSWORD = "demo-password"
STAFF = [
    ("staff@example.org", "Jelena Marković", Role.STAFF, Country.SERBIA),
    ("admin@example.org", "Arben Krasniqi", Role.ADMIN, Country.KOSOVO),
]
# A national coordinator: nominates the Serbian registrations of editions that need it.
COORDINATOR = ("coordinator@example.org", "Milica Jovanović", Country.SERBIA)
TRAINERS = [
    ("trainer@example.org", "Maja Kovačević", Country.MONTENEGRO, "Coaching and leadership"),
    ("ana.trainer@example.org", "Ana Popovska", Country.NORTH_MACEDONIA, "Agile coach"),
    ("lukas.trainer@example.org", "Lukas Weber", Country.OTHER, "OECD/SIGMA"),
    ("elira.trainer@example.org", "Elira Shehu", Country.ALBANIA, "Human-centred design"),
]
MODULES = [
    ("StrengthsFinder", "Discover your top talents and how to use them in a public-sector team."),
    ("Human Ware", "The human side of digital transformation: people before platforms."),
    (
        "Human-Centered Change Management",
        "Leading change that public servants and citizens accept.",
    ),
    ("Agile", "Agile values and practices for government teams."),
    (
        "Iterative Methodologies & Mindset",
        "Small steps, fast feedback, and learning from citizens.",
    ),
    ("Product & Quality Management", "Running digital public services as products."),
    ("Resilience & Wellbeing", "Staying effective under pressure."),
    ("Remote Teams", "Leading distributed teams across institutions."),
    ("Crisis Communication", "Clear, timely and trusted communication in a crisis."),
    ("Data Science & Journalism", "Working with data and the media on public-interest stories."),
]
# (full name, country, institution, position); Latin with diacritics, Albanian, and Cyrillic.
PARTICIPANTS = [
    ("Đorđe Čolić", Country.SERBIA, "Office for IT and eGovernment", "Head of Unit"),
    (
        "Ëndrit Hoxha",
        Country.ALBANIA,
        "National Agency for Information Society",
        "Digital Transformation Lead",
    ),
    (
        "Ђорђе Јовановић",
        Country.SERBIA,
        "Ministry of Public Administration and Local Self-Government",
        "Senior Adviser",
    ),
    (
        "Љиљана Николић",
        Country.SERBIA,
        "Republic Secretariat for Public Policies",
        "Policy Officer",
    ),
    (
        "Ивана Стојановска",
        Country.NORTH_MACEDONIA,
        "Ministry of Information Society and Administration",
        "Head of Sector",
    ),
    ("Ѓорѓи Трајковски", Country.NORTH_MACEDONIA, "Municipality of Skopje", "IT Manager"),
    ("Кристина Ѕвезданоска", Country.NORTH_MACEDONIA, "Agency for Administration", "HR Manager"),
    ("Драган Ћосић", Country.SERBIA, "City of Novi Sad", "Head of Digital Services"),
    (
        "Marija Šarić",
        Country.BOSNIA_AND_HERZEGOVINA,
        "Civil Service Agency of the Federation of BiH",
        "HR Manager",
    ),
    ("Emir Hadžić", Country.BOSNIA_AND_HERZEGOVINA, "Ministry of Justice of BiH", "Head of Unit"),
    (
        "Amra Kovačević",
        Country.BOSNIA_AND_HERZEGOVINA,
        "Public Administration Reform Coordinator's Office",
        "Senior Adviser",
    ),
    ("Nermin Begić", Country.BOSNIA_AND_HERZEGOVINA, "Canton Sarajevo", "Quality Manager"),
    (
        "Selma Mujić",
        Country.BOSNIA_AND_HERZEGOVINA,
        "Ministry of Communications and Transport",
        "Policy Officer",
    ),
    (
        "Jasmin Ćatić",
        Country.BOSNIA_AND_HERZEGOVINA,
        "Agency for Identification Documents",
        "IT Manager",
    ),
    (
        "Milica Žarković",
        Country.MONTENEGRO,
        "Ministry of Public Administration",
        "Digital Transformation Lead",
    ),
    ("Nikola Radulović", Country.MONTENEGRO, "Human Resources Management Authority", "HR Manager"),
    ("Jovana Đukanović", Country.MONTENEGRO, "Capital City Podgorica", "Head of Unit"),
    ("Vesna Bošković", Country.MONTENEGRO, "Tax Administration", "Quality Manager"),
    ("Marko Vujačić", Country.MONTENEGRO, "Ministry of Finance", "Senior Adviser"),
    (
        "Stefan Perović",
        Country.MONTENEGRO,
        "Agency for Electronic Communications",
        "Policy Officer",
    ),
    ("Blerina Gashi", Country.KOSOVO, "Agency for Information Society", "Head of Unit"),
    (
        "Fatmir Berisha",
        Country.KOSOVO,
        "Ministry of Internal Affairs",
        "Digital Transformation Lead",
    ),
    (
        "Vlora Morina",
        Country.KOSOVO,
        "Kosovo Institute for Public Administration",
        "Training Coordinator",
    ),
    ("Agon Rexhepi", Country.KOSOVO, "Municipality of Prishtina", "IT Manager"),
    ("Drita Thaçi", Country.KOSOVO, "Office of the Prime Minister", "Policy Officer"),
    ("Besnik Kastrati", Country.KOSOVO, "Ministry of Finance", "Senior Adviser"),
    ("Ardita Çela", Country.ALBANIA, "Department of Public Administration", "HR Manager"),
    (
        "Erion Dervishi",
        Country.ALBANIA,
        "Albanian School of Public Administration",
        "Training Coordinator",
    ),
    ("Klodiana Leka", Country.ALBANIA, "Ministry of Justice", "Head of Unit"),
    ("Gentian Muça", Country.ALBANIA, "Municipality of Tirana", "Head of Digital Services"),
    ("Elona Bregu", Country.ALBANIA, "Prime Minister's Office", "Policy Officer"),
    ("Sokol Dushku", Country.ALBANIA, "General Directorate of Taxation", "Quality Manager"),
    ("Jonida Kërçiku", Country.ALBANIA, "National Agency for Information Society", "Product Owner"),
    ("Aleksandra Petrović", Country.SERBIA, "Office for IT and eGovernment", "Product Owner"),
    ("Nemanja Ilić", Country.SERBIA, "Ministry of Finance", "Senior Adviser"),
    (
        "Tamara Đurić",
        Country.SERBIA,
        "National Academy for Public Administration",
        "Training Coordinator",
    ),
    ("Miloš Stanković", Country.SERBIA, "City of Belgrade", "IT Manager"),
    ("Snežana Lazić", Country.SERBIA, "Human Resource Management Service", "HR Manager"),
    ("Vladimir Šćekić", Country.MONTENEGRO, "Ministry of Economic Development", "Head of Unit"),
    (
        "Bojan Trajkovski",
        Country.NORTH_MACEDONIA,
        "Ministry of Information Society and Administration",
        "Digital Transformation Lead",
    ),
    ("Elena Petkovska", Country.NORTH_MACEDONIA, "State Statistical Office", "Data Scientist"),
    ("Aleksandar Ristovski", Country.NORTH_MACEDONIA, "Municipality of Bitola", "Head of Unit"),
    (
        "Daniela Georgievska",
        Country.NORTH_MACEDONIA,
        "Secretariat for European Affairs",
        "Policy Officer",
    ),
    (
        "Filip Stojanov",
        Country.NORTH_MACEDONIA,
        "Agency for Real Estate Cadastre",
        "Quality Manager",
    ),
    (
        "Zoran Kecman",
        Country.BOSNIA_AND_HERZEGOVINA,
        "Government of Republika Srpska",
        "Head of Unit",
    ),
    (
        "Лејла Омеровић",
        Country.BOSNIA_AND_HERZEGOVINA,
        "Brčko District Government",
        "Senior Adviser",
    ),
    (
        "Dženana Halilović",
        Country.BOSNIA_AND_HERZEGOVINA,
        "Civil Service Agency of BiH",
        "Training Coordinator",
    ),
    ("Ilir Zeqiri", Country.NORTH_MACEDONIA, "Municipality of Tetovo", "IT Manager"),
    ("Arjeta Bajrami", Country.KOSOVO, "Ministry of Education", "Policy Officer"),
    ("Luan Shala", Country.KOSOVO, "Tax Administration of Kosovo", "Quality Manager"),
    ("Teuta Krasniqi", Country.KOSOVO, "Municipality of Prizren", "HR Manager"),
    ("Ana Jovićević", Country.MONTENEGRO, "Public Procurement Administration", "Policy Officer"),
    ("Danijel Vukčević", Country.MONTENEGRO, "Police Directorate", "IT Manager"),
    ("Sara Džaferović", Country.MONTENEGRO, "Municipality of Bar", "Head of Unit"),
    (
        "Ermal Hysa",
        Country.ALBANIA,
        "Agency for Delivery of Integrated Services (ADISA)",
        "Head of Digital Services",
    ),
    ("Megi Çuni", Country.ALBANIA, "Ministry of Finance and Economy", "Senior Adviser"),
    (
        "Predrag Živković",
        Country.SERBIA,
        "Statistical Office of the Republic of Serbia",
        "Data Scientist",
    ),
    ("Katarina Milenković", Country.OTHER, "UNDP Serbia", "Programme Analyst"),
    ("Hannah Fischer", Country.OTHER, "OECD/SIGMA", "Policy Analyst"),
    ("Goran Đokić", Country.OTHER, "Regional Cooperation Council", "Expert"),
]


# First names of the demo participants who are women; the reports count by gender.
WOMEN = {
    "Aleksandra", "Amra", "Ana", "Ardita", "Arjeta", "Blerina", "Daniela", "Drita", "Dženana",
    "Elena", "Elona", "Hannah", "Jonida", "Jovana", "Katarina", "Klodiana", "Marija", "Megi",
    "Milica", "Sara", "Selma", "Snežana", "Tamara", "Teuta", "Vesna", "Vlora", "Љиљана", "Ивана",
    "Кристина", "Лејла",
}  # fmt: skip
INSTITUTION_TYPES = [  # first match wins
    (("OECD", "UNDP", "Regional Cooperation"), InstitutionType.INTERNATIONAL),
    (("School of", "Academy", "Institute for Public"), InstitutionType.ACADEMIA),
    (("Ministry",), InstitutionType.MINISTRY),
    (("Municipality", "City", "Canton", "Brčko"), InstitutionType.LOCAL_GOVERNMENT),
]


def demo_gender(index: int, full_name: str) -> Gender | None:
    """Most demo participants answer; a few leave it blank or prefer not to say."""
    if index % 11 == 5:
        return None
    if index % 17 == 8:
        return Gender.PREFER_NOT_TO_SAY
    return Gender.WOMAN if full_name.split()[0] in WOMEN else Gender.MAN


def demo_institution_type(index: int, institution: str) -> InstitutionType | None:
    if index % 13 == 7:
        return None
    for words, kind in INSTITUTION_TYPES:
        if any(word in institution for word in words):
            return kind
    return InstitutionType.AGENCY  # agencies, offices, administrations, directorates


def demo_language(index: int, full_name: str, country: Country) -> str:
    """The language a demo participant reads the site in: mostly their own, some English.

    The demo participant account (index 0) and every fifth person keep English; Serbian
    participants read either script (whatever the script of their name), Bosnians read
    Bosnian or Croatian.
    """
    if index % 5 == 0 or country == Country.OTHER:
        return "en"
    if country == Country.SERBIA:
        return "sr-Latn" if index % 3 == 0 or full_name.isascii() else "sr-Cyrl"
    if country == Country.BOSNIA_AND_HERZEGOVINA:
        return "hr" if index % 2 else "bs"
    return {
        Country.ALBANIA: "sq",
        Country.KOSOVO: "sq",
        Country.MONTENEGRO: "cnr",
        Country.NORTH_MACEDONIA: "mk",
    }.get(country, "en")


def slugify_name(name: str) -> str:
    return "-".join(fold(name).replace("&", " ").split())


def email_for(full_name: str, index: int) -> str:
    return f"{'.'.join(slugify_name(full_name).split('-'))}.{index}@example.org"


def _get_or_create_user(email: str, password_hash: str, **fields) -> User:
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        user = User(email=email, password_hash=password_hash, **fields)
        db.session.add(user)
    return user


def _get_or_create_module(name: str, summary: str) -> Module:
    slug = slugify_name(name)
    module = db.session.scalar(sa.select(Module).where(Module.slug == slug))
    if module is None:
        module = Module(
            name=name,
            slug=slug,
            summary=summary,
            description=f"{summary} Taught through short inputs, case work from the "
            "participants' own administrations, and peer exchange across the region.",
        )
        db.session.add(module)
    return module


def _sessions_for(
    edition: Edition, em: EditionModule, days: list[date], slots: list[tuple[time, time]]
):
    for position, (day, (start, end)) in enumerate((d, s) for d in days for s in slots):
        em.sessions.append(
            Session(
                starts_at=to_utc(day, start, edition.timezone),
                ends_at=to_utc(day, end, edition.timezone),
                room=edition.venue and "Plenary hall",
                online_url=edition.online_url,
                position=position,
            )
        )


def _edition(slug: str, **fields) -> tuple[Edition, bool]:
    edition = db.session.scalar(sa.select(Edition).where(Edition.slug == slug))
    if edition is not None:
        return edition, False
    fields.setdefault("timezone", "Europe/Belgrade")
    fields.setdefault("venue", "")
    fields.setdefault("online_url", "")
    edition = Edition(slug=slug, **fields)
    db.session.add(edition)
    return edition, True


def _offer(edition: Edition, modules: list[Module], trainers: list[User]) -> list[EditionModule]:
    offered = []
    for position, module in enumerate(modules):
        em = EditionModule(module=module, position=position)
        em.trainers = [trainers[position % len(trainers)]]
        edition.edition_modules.append(em)
        offered.append(em)
    return offered


def seed_demo() -> dict[str, int]:
    """Create whatever demo data is missing; return counts of what exists afterwards."""
    rng = random.Random(2019)
    now = utcnow()
    today = now.date()
    # Hashing is deliberately slow: hash the shared demo password once.
    hasher = User()
    hasher.set_password(DEMO_PASSWORD)
    password_hash = hasher.password_hash

    _get_or_create_user(
        COORDINATOR[0],
        password_hash,
        full_name=COORDINATOR[1],
        role=Role.COORDINATOR,
        country=COORDINATOR[2],
        coordinator_country=COORDINATOR[2],
        institution="Ministry of Public Administration and Local Self-Government",
        position="National coordinator",
    )
    for email, name, role, country in STAFF:
        _get_or_create_user(
            email,
            password_hash,
            full_name=name,
            role=role,
            country=country,
            institution="Regional School of Public Administration",
            position="Programme staff",
        )
    trainers = [
        _get_or_create_user(
            email,
            password_hash,
            full_name=name,
            role=Role.TRAINER,
            country=country,
            institution="Trainer network",
            position=position,
        )
        for email, name, country, position in TRAINERS
    ]
    participants = [
        _get_or_create_user(
            "participant@example.org" if i == 0 else email_for(name, i),
            password_hash,
            full_name=name,
            role=Role.PARTICIPANT,
            country=country,
            institution=institution,
            position=position,
            gender=demo_gender(i, name),
            institution_type=demo_institution_type(i, institution),
            preferred_language=demo_language(i, name, country),
        )
        for i, (name, country, institution, position) in enumerate(PARTICIPANTS)
    ]
    modules = {name: _get_or_create_module(name, summary) for name, summary in MODULES}
    db.session.flush()

    # 1. The in-person school of September 2019.
    dt2019, created = _edition(
        "digital-transformation-2019",
        title="Seasonal School on Digital Transformation",
        series="digital-transformation",
        kind=EditionKind.SEASONAL_SCHOOL,
        format=EditionFormat.IN_PERSON,
        venue="Hotel Splendid, Budva, Montenegro",
        start_date=date(2019, 9, 16),
        end_date=date(2019, 9, 20),
        registration_opens_at=to_utc(date(2019, 6, 1), time(9), "Europe/Podgorica"),
        registration_closes_at=to_utc(date(2019, 8, 31), time(23, 59), "Europe/Podgorica"),
        timezone="Europe/Podgorica",
        capacity=30,
        registration_mode=RegistrationMode.MODERATED,
        status=EditionStatus.ARCHIVED,
        published_at=to_utc(date(2019, 6, 1), time(9), "UTC"),
        certificate_threshold=80,
        # Certificates in English and each participant's own language.
        certificate_language=CERTIFICATE_PARTICIPANT_LANGUAGE,
        description=(
            "A week-long seasonal school for senior public servants leading digital "
            "transformation in the Western Balkan administrations.\n\n"
            "Participants worked on the people side of change: strengths, human-centred change "
            "management, agile ways of working, and running public services as products."
        ),
        signatories=[{"name": "Jelena Marković", "title": "Programme Manager"}],
    )
    if created:
        names = [
            "StrengthsFinder",
            "Human Ware",
            "Human-Centered Change Management",
            "Agile",
            "Iterative Methodologies & Mindset",
            "Product & Quality Management",
        ]
        offered = _offer(dt2019, [modules[n] for n in names], trainers)
        days = [date(2019, 9, 16) + timedelta(days=i) for i in range(5)]
        for i, em in enumerate(offered):
            day_pair = [days[i % 5]] if i < 5 else [days[4]]
            _sessions_for(
                dt2019,
                em,
                day_pair,
                [(time(9, 30), time(12, 30))] if i % 2 else [(time(14), time(17))],
            )
        _register_past(dt2019, participants[:28], rng, decided_at=dt2019.registration_closes_at)

    # 2. The online Rapid Innovation Lab of 2020.
    ril2020, created = _edition(
        "rapid-innovation-lab-2020",
        title="Seasonal School on Rapid Innovation Lab 2020",
        series="rapid-innovation-lab",
        kind=EditionKind.SEASONAL_SCHOOL,
        format=EditionFormat.ONLINE,
        online_url="https://meet.example.org/rapid-innovation-lab",
        start_date=date(2020, 10, 5),
        end_date=date(2020, 11, 13),
        registration_opens_at=to_utc(date(2020, 8, 1), time(9), "Europe/Belgrade"),
        registration_closes_at=to_utc(date(2020, 9, 25), time(23, 59), "Europe/Belgrade"),
        capacity=40,
        registration_mode=RegistrationMode.OPEN,
        status=EditionStatus.ARCHIVED,
        certificate_threshold=70,
        description=(
            "Six weeks of online sessions on leading through a crisis: resilient and remote "
            "teams, crisis communication, and data-driven storytelling with journalists."
        ),
        signatories=[{"name": "Jelena Marković", "title": "Programme Manager"}],
    )
    if created:
        names = [
            "Resilience & Wellbeing",
            "Remote Teams",
            "Crisis Communication",
            "Data Science & Journalism",
            "Agile",
        ]
        offered = _offer(ril2020, [modules[n] for n in names], trainers)
        for i, em in enumerate(offered):
            first = date(2020, 10, 6) + timedelta(weeks=i)
            _sessions_for(ril2020, em, [first, first + timedelta(days=2)], [(time(10), time(12))])
        _register_past(ril2020, participants[20:56], rng, decided_at=ril2020.registration_closes_at)

    # 3. The next seasonal school, open for registration now and fully booked.
    start = today + timedelta(days=75)
    next_school, created = _edition(
        "digital-transformation-next",
        title=f"Seasonal School on Digital Transformation {start.year}",
        series="digital-transformation",
        kind=EditionKind.SEASONAL_SCHOOL,
        format=EditionFormat.HYBRID,
        venue="Regional School of Public Administration, Danilovgrad",
        online_url="https://meet.example.org/digital-transformation",
        start_date=start,
        end_date=start + timedelta(days=4),
        registration_opens_at=now - timedelta(days=10),
        registration_closes_at=to_utc(start - timedelta(days=14), time(23, 59), "Europe/Podgorica"),
        timezone="Europe/Podgorica",
        capacity=20,
        registration_mode=RegistrationMode.OPEN,
        module_choice=True,
        status=EditionStatus.PUBLISHED,
        published_at=now - timedelta(days=10),
        certificate_threshold=80,
        description=(
            "The next seasonal school on digital transformation. Choose the modules that fit "
            "your role; every module runs over one day with morning and afternoon sessions."
        ),
        signatories=[{"name": "Jelena Marković", "title": "Programme Manager"}],
    )
    if created:
        names = [
            "StrengthsFinder",
            "Human-Centered Change Management",
            "Agile",
            "Product & Quality Management",
            "Data Science & Journalism",
        ]
        offered = _offer(next_school, [modules[n] for n in names], trainers)
        for i, em in enumerate(offered):
            _sessions_for(
                next_school,
                em,
                [start + timedelta(days=i)],
                [(time(9, 30), time(12, 30)), (time(14), time(17))],
            )
        db.session.flush()
        for i, user in enumerate(participants[1:25], start=1):
            status = RegistrationStatus.ACCEPTED if i <= 20 else RegistrationStatus.WAITLISTED
            if i == 24:
                status = RegistrationStatus.CANCELLED
            registration = Registration(
                user=user,
                edition=next_school,
                status=status,
                waitlist_position=(i - 20) if status == RegistrationStatus.WAITLISTED else None,
                motivation="I lead our institution's digital services and want to learn from peers.",
                consent_at=now - timedelta(days=10, hours=-i),
                created_at=now - timedelta(days=10, hours=-i),
                cancelled_at=now - timedelta(days=2)
                if status == RegistrationStatus.CANCELLED
                else None,
            )
            registration.modules = rng.sample(offered, k=3)
            db.session.add(registration)

    # 4. A moderated webinar, with pending and rejected applications.
    webinar_day = today + timedelta(days=21)
    webinar, created = _edition(
        "webinar-crisis-communication",
        title="Webinar: Crisis Communication for Public Institutions",
        kind=EditionKind.WEBINAR,
        format=EditionFormat.ONLINE,
        online_url="https://meet.example.org/crisis-communication",
        start_date=webinar_day,
        end_date=webinar_day,
        registration_opens_at=now - timedelta(days=5),
        registration_closes_at=to_utc(webinar_day - timedelta(days=1), time(12), "Europe/Belgrade"),
        capacity=100,
        registration_mode=RegistrationMode.MODERATED,
        status=EditionStatus.PUBLISHED,
        published_at=now - timedelta(days=5),
        certificate_threshold=100,
        description="A two-hour webinar on communicating clearly and quickly when a crisis hits.",
    )
    if created:
        (em,) = _offer(webinar, [modules["Crisis Communication"]], trainers[2:3])
        _sessions_for(webinar, em, [webinar_day], [(time(11), time(13))])
        db.session.flush()
        for i, user in enumerate(participants[40:50]):
            status = (
                [RegistrationStatus.PENDING] * 6
                + [RegistrationStatus.ACCEPTED] * 3
                + [RegistrationStatus.REJECTED]
            )
            db.session.add(
                Registration(
                    user=user,
                    edition=webinar,
                    status=status[i],
                    motivation="Our ministry needs a crisis communication plan.",
                    consent_at=now - timedelta(days=4, hours=i),
                    created_at=now - timedelta(days=4, hours=i),
                    decided_at=now - timedelta(days=1)
                    if status[i] != RegistrationStatus.PENDING
                    else None,
                )
            )

    # 5. An in-person school whose seats are shared among the administrations, with
    # nominations by the national coordinators.
    lab_start = today + timedelta(days=75)
    lab, created = _edition(
        "rapid-innovation-lab-next",
        title=f"Seasonal School on Rapid Innovation Lab {lab_start.year}",
        series="rapid-innovation-lab",
        kind=EditionKind.SEASONAL_SCHOOL,
        format=EditionFormat.IN_PERSON,
        venue="Regional School of Public Administration, Danilovgrad",
        start_date=lab_start,
        end_date=lab_start + timedelta(days=3),
        registration_opens_at=now - timedelta(days=7),
        registration_closes_at=to_utc(
            lab_start - timedelta(days=30), time(23, 59), "Europe/Podgorica"
        ),
        timezone="Europe/Podgorica",
        capacity=28,
        registration_mode=RegistrationMode.OPEN,
        nomination_required=True,
        quota_release_at=to_utc(lab_start - timedelta(days=21), time(9), "Europe/Podgorica"),
        status=EditionStatus.PUBLISHED,
        published_at=now - timedelta(days=7),
        certificate_threshold=80,
        description=(
            "Four seats for each of the six administrations and four for partner organisations. "
            "Register, and your national coordinator nominates the participants of your country."
        ),
    )
    if created:
        lab.seat_quotas = [EditionSeatQuota(country=c, seats=4) for c in Country]
        names = ["Agile", "Iterative Methodologies & Mindset", "Remote Teams"]
        offered = _offer(lab, [modules[n] for n in names], trainers)
        for i, em in enumerate(offered):
            _sessions_for(lab, em, [lab_start + timedelta(days=i)], [(time(9, 30), time(16))])
        coordinator = db.session.scalar(sa.select(User).where(User.email == COORDINATOR[0]))
        per_country: dict = {}
        for i, user in enumerate(participants[1:], start=1):
            k = per_country.setdefault(user.country, 0)
            if k >= 4:
                continue
            per_country[user.country] = k + 1
            registered = now - timedelta(days=6, hours=-i)
            registration = Registration(
                user=user,
                edition=lab,
                status=RegistrationStatus.ACCEPTED if k == 0 else RegistrationStatus.PENDING,
                motivation="Our team wants to prototype services with citizens, in weeks.",
                consent_at=registered,
                created_at=registered,
                decided_at=now - timedelta(days=2) if k == 0 else None,
            )
            if k < 3 and user.country == Country.SERBIA:
                registration.nomination = Nomination.DECLINED if k == 2 else Nomination.NOMINATED
                registration.nomination_rank = k + 1
                registration.nominated_by_id = coordinator.id
                registration.nominated_at = now - timedelta(days=3)
                if k == 2:
                    registration.nomination_note = "Joined the ministry last month; next year."
            elif k < 2:
                registration.nomination = Nomination.NOMINATED
                registration.nomination_rank = k + 1
                registration.nominated_at = now - timedelta(days=3)
            db.session.add(registration)

    # 6. A draft that only staff see.
    _edition(
        "hackathon-govtech-draft",
        title="GovTech Hackathon",
        kind=EditionKind.HACKATHON,
        format=EditionFormat.IN_PERSON,
        venue="Tirana",
        start_date=today + timedelta(days=150),
        end_date=today + timedelta(days=151),
        capacity=50,
        status=EditionStatus.DRAFT,
        description="Two days of building prototypes with civic tech teams.",
    )
    db.session.commit()
    seed_evaluations(rng)
    return {
        "users": db.session.scalar(sa.select(sa.func.count(User.id))),
        "editions": db.session.scalar(sa.select(sa.func.count(Edition.id))),
        "registrations": db.session.scalar(sa.select(sa.func.count(Registration.id))),
        "attendances": db.session.scalar(sa.select(sa.func.count(Attendance.id))),
    }


def _register_past(edition: Edition, people: list[User], rng: random.Random, decided_at) -> None:
    """Registrations of a past edition, mostly accepted, and their attendance."""
    db.session.flush()
    sessions = [s for em in edition.edition_modules for s in em.sessions]
    for i, user in enumerate(people):
        if i % 13 == 12:
            status = RegistrationStatus.REJECTED
        elif i % 11 == 10:
            status = RegistrationStatus.CANCELLED
        else:
            status = RegistrationStatus.ACCEPTED
        registration = Registration(
            user=user,
            edition=edition,
            status=status,
            motivation="To bring modern practice into our administration.",
            consent_at=edition.registration_opens_at + timedelta(days=1 + i % 20),
            created_at=edition.registration_opens_at + timedelta(days=1 + i % 20),
            decided_at=decided_at,
            cancelled_at=decided_at if status == RegistrationStatus.CANCELLED else None,
        )
        registration.modules = list(edition.edition_modules)
        db.session.add(registration)
        if status != RegistrationStatus.ACCEPTED:
            continue
        reliability = rng.choice([1.0, 0.95, 0.9, 0.85, 0.7, 0.5])
        for session in sessions:
            roll = rng.random()
            if roll < reliability:
                mark = AttendanceStatus.LATE if rng.random() < 0.08 else AttendanceStatus.PRESENT
            elif roll < reliability + (1 - reliability) / 2:
                mark = AttendanceStatus.EXCUSED
            else:
                mark = AttendanceStatus.ABSENT
            db.session.add(
                Attendance(
                    session=session,
                    registration=registration,
                    status=mark,
                    method=AttendanceMethod.TRAINER,
                    recorded_by=session.edition_module.trainers[0],
                    recorded_at=session.ends_at,
                )
            )
