"""A past edition with two modules, attended by participants, for the evaluation tests."""

from dataclasses import dataclass
from datetime import timedelta

from schoolmgr.evaluations import answering, authoring
from schoolmgr.models import AttendanceStatus, FormKind, Role
from tests import factories as F  # noqa: N812


@dataclass
class EvaluationWorld:
    edition: object
    em1: object
    em2: object
    session1: object
    session2: object
    trainer: object
    otrainer: object
    registrations: list
    absent: object  # accepted, but missed every session
    form: object

    def part(self, em=None):
        em_id = em.id if em is not None else None
        return next(p for p in self.form.parts if p.edition_module_id == em_id)


def evaluation_world(participants: int = 6, publish: bool = True, **edition) -> EvaluationWorld:
    edition = F.EditionFactory(
        past=True, title="Seasonal School on Digital Transformation", **edition
    )
    trainer = F.UserFactory(role=Role.TRAINER, full_name="Tanja Trainer")
    otrainer = F.UserFactory(role=Role.TRAINER, full_name="Otto Othertrainer")
    em1 = F.EditionModuleFactory(edition=edition, module__name="Agile", trainers=[trainer])
    em2 = F.EditionModuleFactory(edition=edition, module__name="Human Ware", trainers=[otrainer])
    session1 = F.SessionFactory(edition_module=em1)
    session2 = F.SessionFactory(
        edition_module=em2, starts_at=session1.starts_at + timedelta(days=1)
    )
    registrations = []
    for n in range(participants):
        registration = F.RegistrationFactory(
            edition=edition, user__full_name=f"Participant Čolić {n}"
        )
        F.AttendanceFactory(session=session1, registration=registration)
        F.AttendanceFactory(session=session2, registration=registration)
        registrations.append(registration)
    absent = F.RegistrationFactory(edition=edition, user__full_name="Absent Person")
    F.AttendanceFactory(session=session1, registration=absent, status=AttendanceStatus.ABSENT)
    form = authoring.create_form(edition, FormKind.EVALUATION)
    if publish:
        authoring.publish(form)
    return EvaluationWorld(
        edition, em1, em2, session1, session2, trainer, otrainer, registrations, absent, form
    )


def module_answers(part, content=4, relevance=5, trainer=3, materials=4) -> dict:
    questions = answering.questions_for(part)
    return dict(
        zip([q.id for q in questions], [content, relevance, trainer, materials], strict=True)
    )


def edition_answers(part, rating=4, useful="The peer exchange", improve="", recommend=9) -> dict:
    values = {}
    for q in answering.questions_for(part):
        if q.kind.value == "rating":
            values[q.id] = rating
        elif q.kind.value == "scale":
            values[q.id] = recommend
        elif "useful" in q.text and useful:
            values[q.id] = useful
        elif "improve" in q.text and improve:
            values[q.id] = improve
    return values
