"""Who sees which materials: managers see everything, participants their modules' materials,
everyone the public ones of published editions."""

from __future__ import annotations

import sqlalchemy as sa
from flask_login import current_user
from sqlalchemy.orm import contains_eager, selectinload

from schoolmgr.extensions import db
from schoolmgr.models import (
    Edition,
    EditionModule,
    EditionStatus,
    Material,
    MaterialVisibility,
    Module,
    User,
)
from schoolmgr.registration.registering import accepted_registration_for
from schoolmgr.trainer.access import may_manage


def participates_in(user: User, edition_module: EditionModule) -> bool:
    """An accepted participant of the edition and, with module choice, of this module."""
    return user.is_authenticated and accepted_registration_for(user, edition_module) is not None


def may_view(user: User, material: Material) -> bool:
    """Whether `user` may see and download `material`."""
    if material.deleted_at is not None:
        return False
    edition_module = material.edition_module
    if may_manage(user, edition_module):
        return True
    if material.replaced_by_id is not None:
        return False  # earlier versions are for trainers and staff
    if edition_module.edition.status == EditionStatus.DRAFT:
        return False
    if material.visibility == MaterialVisibility.PUBLIC:
        return True
    return participates_in(user, edition_module)


def current_materials(edition_module: EditionModule) -> list[Material]:
    """The current, not deleted versions of the module's materials, in their order."""
    return list(
        db.session.scalars(
            sa.select(Material)
            .where(
                Material.edition_module_id == edition_module.id,
                Material.deleted_at.is_(None),
                Material.replaced_by_id.is_(None),
            )
            .order_by(Material.position, Material.title, Material.id)
        )
    )


def visible_materials(user: User, edition_module: EditionModule) -> list[Material]:
    """The module's current materials that `user` may see."""
    materials = current_materials(edition_module)
    if may_manage(user, edition_module):
        return materials
    if edition_module.edition.status == EditionStatus.DRAFT:
        return []
    member = participates_in(user, edition_module)
    return [m for m in materials if member or m.visibility == MaterialVisibility.PUBLIC]


def edition_module_by_slugs(edition_slug: str, module_slug: str) -> EditionModule | None:
    """The edition module for a public page; drafts stay hidden from everyone but managers."""
    edition_module = db.session.scalar(
        sa.select(EditionModule)
        .join(Edition, Edition.id == EditionModule.edition_id)
        .join(Module, Module.id == EditionModule.module_id)
        .where(Edition.slug == edition_slug, Module.slug == module_slug)
        .options(
            contains_eager(EditionModule.edition),
            contains_eager(EditionModule.module),
            selectinload(EditionModule.sessions),
            selectinload(EditionModule.trainers),
        )
    )
    if edition_module is None:
        return None
    if edition_module.edition.status == EditionStatus.DRAFT and not may_manage(
        current_user, edition_module
    ):
        return None
    return edition_module
