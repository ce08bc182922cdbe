"""Replies and reports (R64, R65): the host's public answer to a review and a report as inappropriate.

Reviews are never deleted (there is no such use case anywhere). The host, or tourist-office
staff on the host's behalf, may reply once per review: the reply is public, shown under the
review, and may be edited (the same use case replaces it). A review may be reported as
inappropriate once, with a reason. Both are made on the review partner's side (R65): the
portal forwards them as an outbox event to the partner's webhook (`review.reply`,
`review.report`) in the same transaction, and shows their state. A report also lands in the
tourist office's queue (`reported`) and its mailbox.

Decisions:
- Replies only to published reviews: a pending one is still being checked by the partner (R61)
  and may never appear, an archived one is no longer shown; a reply to either would answer
  nothing the guest's readers see.
- Reports of published and pending reviews (the partner's check is just where a report
  helps), not of archived ones (no longer shown).
- One report per review: a second one is refused (409 `already_reported`). The partner and the
  office act on the first; a changed reason afterwards would change what they already decided on.
- Saving the same reply again changes nothing and sends nothing.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, contains_eager, joinedload

from services.accounts import access
from services.bookings import notify
from services.core import audit, clock, inputs
from services.core.db import use_case
from services.core.errors import Conflict, Invalid
from services.core.i18n import _l, render
from services.models import MailMessage, Property, Review, User

MAX_REPLY = 2000
MAX_REASON = 1000
EXCERPT = 120  # characters of the review's text in the history, the office's e-mail and queue
QUEUE_LIMIT = 200

REPLY_EVENT = "review.reply"
REPORT_EVENT = "review.report"


def excerpt(text: str, n: int = EXCERPT) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= n else text[:n - 1].rstrip() + "…"


def _lines(value):
    """A form's CRLF line breaks as one character each (the browser's maxlength counts them so)."""
    return value.replace("\r\n", "\n") if isinstance(value, str) else value


def by(actor: User) -> str:
    """Who acted, as the partner is told: the host, or the tourist office (staff, admins) for the host."""
    return "host" if actor.role == "host" else "tourist_office"


def get(session: Session, actor: User, prop: Property, review_id: int) -> Review:
    """The property's review; another property's (or none) is "not found", no hint it exists."""
    access.check_property(actor, prop)
    return access.of_property(session, Review, review_id, prop.id, _l("No such review."))


def _history(actor: User, prop: Property, review: Review, **params) -> dict:
    p = {"review": review.partner_review_id, "author": review.author,
         "written_on": review.written_on.isoformat(), **params}
    if actor.role != "host" and prop.owner is not None:
        p["on_behalf_of"] = prop.owner.name  # staff acting for the host (history.html marks it too)
    return p


def reply(session: Session, actor: User, prop: Property, review_id: int, text: str | None) -> Review:
    """Reply publicly to a published review, or replace the reply (an edit). The partner gets
    `review.reply`; the history records who replied, staff on the host's behalf."""
    review = get(session, actor, prop, review_id)
    errors: dict = {}
    text = inputs.text(_lines(text), "reply", errors, required=_l("Write your reply."), max_len=MAX_REPLY)
    if errors:
        raise Invalid(errors)
    if review.status != "published":
        raise Invalid({"reply": _l("You can reply once the review partner has published the review: "
                                   "a pending review is still being checked, an archived one is no longer shown.")})
    if review.reply_text == text:
        return review  # saved already: nothing changes, nothing is sent again
    edited = review.reply_text is not None
    now = clock.now()
    with use_case(session) as uc:
        review.reply_text, review.replied_at, review.replied_by_id = text, now, actor.id
        audit.record(session, actor, prop, "review_reply_edited" if edited else "review_replied",
                     **_history(actor, prop, review, reply=excerpt(text)))
        notify.webhook(session, review.connection, REPLY_EVENT, {
            "partner_review_id": review.partner_review_id, "reply": text, "at": now.isoformat(), "by": by(actor)})
        uc.keep(review, prop, actor)
    return review


def report(session: Session, actor: User, prop: Property, review_id: int, reason: str | None) -> Review:
    """Report a review as inappropriate, once, with a reason: to the partner (`review.report`),
    into the office's queue and by e-mail to the office."""
    review = get(session, actor, prop, review_id)
    errors: dict = {}
    reason = inputs.text(_lines(reason), "reason", errors, required=_l("Say why the review is inappropriate."),
                         max_len=MAX_REASON)
    if errors:
        raise Invalid(errors)
    if review.reported_at is not None:
        raise Conflict(_l("This review was reported already; the review partner decides on it. "
                          "Ask the tourist office if you want to add something."), code="already_reported")
    if review.status == "archived":
        raise Invalid({"reason": _l("This review is archived and no longer shown: there is nothing to report.")})
    now = clock.now()
    with use_case(session) as uc:
        review.reported_at, review.report_reason, review.reported_by_id = now, reason, actor.id
        audit.record(session, actor, prop, "review_reported", **_history(actor, prop, review, reason=excerpt(reason)))
        notify.webhook(session, review.connection, REPORT_EVENT, {
            "partner_review_id": review.partner_review_id, "reason": reason, "at": now.isoformat(), "by": by(actor)})
        _mail_office(session, actor, prop, review)
        uc.keep(review, prop, actor)
    return review


def _mail_office(session: Session, actor: User, prop: Property, review: Review) -> None:
    """The report in the office's mailbox (in German, as the office's other mails)."""
    office = prop.office
    if office is None or not office.email:
        return
    subject = _l("%(property)s: review reported as inappropriate", property=prop.name)
    body = _l("%(who)s reported the review of %(author)s (%(date)s) as inappropriate.\n\nReason: %(reason)s\n\n"
              "Review: %(review)s\n\nThe report went to the review partner, who decides on it. "
              "The office's queue of reported reviews lists it.",
              who=actor.name, author=review.author, date=review.written_on, reason=review.report_reason,
              review=excerpt(review.text, 500) or "–")
    now = clock.now()
    session.add(MailMessage(property_id=prop.id, recipient=office.email, subject=render(subject, "de")[:200],
                            body=render(body, "de"), created_at=now, next_attempt_at=now, kind="office"))


def reported(session: Session, actor: User, limit: int = QUEUE_LIMIT) -> list[Review]:
    """The office's queue: reported reviews of its properties, newest report first (staff see
    their office's, admins every office's). One query whatever the number."""
    access.require_staff(actor)
    q = (
        sa.select(Review).join(Property, Property.id == Review.property_id)
        .where(Review.reported_at.is_not(None))
        .options(contains_eager(Review.prop), joinedload(Review.reported_by))
        .order_by(Review.reported_at.desc(), Review.id.desc()).limit(limit)
    )
    if actor.role != "admin":
        q = q.where(Property.office_id == actor.office_id)
    return list(session.scalars(q).unique())
