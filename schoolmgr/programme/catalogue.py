"""The module catalogue, and which catalogue modules an edition offers."""

import sqlalchemy as sa

from schoolmgr.audit import record
from schoolmgr.errors import rolls_back
from schoolmgr.extensions import db
from schoolmgr.i18n import gettext as _
from schoolmgr.models import (
    Attendance,
    Edition,
    EditionModule,
    Material,
    Module,
    Session,
    registration_modules,
    utcnow,
)
from schoolmgr.programme.editions import slugify
from schoolmgr.programme.errors import ProgrammeError


def _module_slug_taken(slug: str, exclude_id: int | None) -> bool:
    query = sa.select(Module.id).where(Module.slug == slug)
    if exclude_id is not None:
        query = query.where(Module.id != exclude_id)
    return db.session.scalar(query) is not None


@rolls_back
def save_module(module: Module | None, *, name: str, slug: str, summary: str, description: str):
    """Create (module=None) or edit a catalogue module."""
    slug = slug or slugify(name)
    if _module_slug_taken(slug, module.id if module else None):
        n = 2
        while _module_slug_taken(f"{slug}-{n}", module.id if module else None):
            n += 1
        raise ProgrammeError(
            _(
                "The address %(slug)s is already used by another module. %(free)s is free.",
                slug=slug,
                free=f"{slug}-{n}",
            ),
            "slug_taken",
            field="slug",
            suggestion=f"{slug}-{n}",
        )
    created = module is None
    if created:
        module = Module()
        db.session.add(module)
    module.name, module.slug = name.strip(), slug
    module.summary, module.description = summary.strip(), description.strip()
    db.session.flush()
    record("module.created" if created else "module.updated", target=module, summary=module.name)
    db.session.commit()
    return module


def set_module_retired(module: Module, retired: bool) -> Module:
    """Retire a module (it stays on past editions) or bring it back to the catalogue."""
    module.retired_at = utcnow() if retired else None
    record("module.retired" if retired else "module.restored", target=module, summary=module.name)
    db.session.commit()
    return module


@rolls_back
def delete_module(module: Module) -> None:
    """Delete a catalogue module that no edition ever used; otherwise say to retire it."""
    used = db.session.scalar(
        sa.select(sa.func.count(EditionModule.id)).where(EditionModule.module_id == module.id)
    )
    if used:
        raise ProgrammeError(
            _(
                "%(name)s is part of %(n)d edition(s) and cannot be deleted. Retire it instead: "
                "it stays on those editions and leaves the catalogue.",
                name=module.name,
                n=used,
            ),
            "module_in_use",
            409,
        )
    record("module.deleted", target=module, summary=module.name)
    db.session.delete(module)
    db.session.commit()


def modules_query(include_retired: bool = True) -> sa.Select:
    query = sa.select(Module).order_by(Module.retired_at.is_not(None), Module.name)
    if not include_retired:
        query = query.where(Module.retired_at.is_(None))
    return query


@rolls_back
def add_module(edition: Edition, module: Module, *, mandatory: bool = False) -> EditionModule:
    """Offer a catalogue module in an edition, after its current modules."""
    if module.is_retired:
        raise ProgrammeError(
            _("%(name)s is retired and cannot be added.", name=module.name), "module_retired"
        )
    if any(em.module_id == module.id for em in edition.edition_modules):
        raise ProgrammeError(
            _("%(name)s is already part of this edition.", name=module.name),
            "module_already_added",
            409,
        )
    position = max((em.position for em in edition.edition_modules), default=-1) + 1
    em = EditionModule(module=module, position=position, mandatory=mandatory)
    edition.edition_modules.append(em)
    db.session.flush()
    record("edition.module_added", target=em, edition_id=edition.id, summary=module.name)
    db.session.commit()
    return em


def module_dependants(em: EditionModule) -> dict[str, int]:
    """Records that would be lost with this edition module."""
    session_ids = sa.select(Session.id).where(Session.edition_module_id == em.id)
    return {
        "attendance": db.session.scalar(
            sa.select(sa.func.count(Attendance.id)).where(Attendance.session_id.in_(session_ids))
        ),
        "chosen": db.session.scalar(
            sa.select(sa.func.count())
            .select_from(registration_modules)
            .where(registration_modules.c.edition_module_id == em.id)
        ),
        "materials": db.session.scalar(
            sa.select(sa.func.count(Material.id)).where(Material.edition_module_id == em.id)
        ),
    }


@rolls_back
def remove_module(em: EditionModule) -> None:
    """Take a module out of an edition, with its sessions, unless records depend on it."""
    found = module_dependants(em)
    name = em.module.name
    if found["attendance"]:
        raise ProgrammeError(
            _(
                "%(name)s has %(n)d attendance marks and cannot be removed.",
                name=name,
                n=found["attendance"],
            ),
            "module_has_attendance",
            409,
        )
    if found["chosen"]:
        raise ProgrammeError(
            _(
                "%(n)d registrations chose %(name)s; it cannot be removed while they do.",
                name=name,
                n=found["chosen"],
            ),
            "module_chosen",
            409,
        )
    if found["materials"]:
        raise ProgrammeError(
            _(
                "%(name)s has %(n)d materials; remove them first.",
                name=name,
                n=found["materials"],
            ),
            "module_has_materials",
            409,
        )
    record(
        "edition.module_removed",
        target=em,
        edition_id=em.edition_id,
        summary=name,
        before={"module_id": em.module_id, "sessions": len(em.sessions)},
    )
    db.session.delete(em)
    db.session.commit()


def move_module(em: EditionModule, direction: str) -> None:
    """Move a module one place up or down in its edition's programme."""
    modules = list(em.edition.edition_modules)
    index = modules.index(em)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(modules):
        modules[index], modules[other] = modules[other], modules[index]
        for position, item in enumerate(modules):
            item.position = position
        db.session.commit()
