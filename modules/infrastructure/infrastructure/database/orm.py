"""The shared ORM base for sibling modules' models, with stable constraint names for Alembic."""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints make migrations reproducible: autogenerate and batch mode on SQLite
# can only drop or alter a constraint that has a name.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base shared by every module; its ``metadata`` is Alembic's ``target_metadata``."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
