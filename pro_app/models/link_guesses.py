"""Requests for survey links that do not exist, counted for the guess limit."""

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from .types import UTCDateTime


class SurveyLinkMiss(SQLModel, table=True):
    """One request for an unknown survey link, kept while it counts (see ``link_guesses``).

    ``client_key`` is a keyed hash of the client's address, so no address is stored.
    """

    __tablename__ = "survey_link_miss"
    __table_args__ = (Index("ix_survey_link_miss_client_key_at", "client_key", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    client_key: str = Field(max_length=64)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
