"""services.core.db.use_case: one use case, one transaction, also when use cases nest."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from services.core.db import use_case
from services.models import Office


def _names(session) -> list[str]:
    session.rollback()
    return sorted(session.scalars(sa.select(Office.name).where(Office.name.like("UC %"))))


def test_a_use_case_commits_at_its_end_and_rolls_back_on_an_error(session):
    with use_case(session):
        session.add(Office(name="UC one"))
    with pytest.raises(RuntimeError), use_case(session):
        session.add(Office(name="UC two"))
        session.flush()
        raise RuntimeError("late")
    assert _names(session) == ["UC one"]


def test_use_cases_inside_another_join_it_all_or_nothing(session):
    """Lifting several restrictions runs one rates use case per night inside one outer use case:
    an error after the first inner one leaves nothing written."""
    with pytest.raises(RuntimeError), use_case(session):
        with use_case(session):
            session.add(Office(name="UC inner 1"))
        with use_case(session):
            session.add(Office(name="UC inner 2"))
        session.flush()
        raise RuntimeError("the third fix failed")
    assert _names(session) == []

    with use_case(session):
        with use_case(session) as inner:
            office = Office(name="UC inner 3")
            session.add(office)
            inner.keep(office)
        assert session.info["use_case_depth"] == 1  # nothing committed yet
    assert _names(session) == ["UC inner 3"] and session.info["use_case_depth"] == 0
