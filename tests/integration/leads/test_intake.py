"""Leads from inbound email: one lead per email, unassigned, its service guessed; the sender's next email merges."""

from __future__ import annotations

from typing import Any

from chalicelib.leads.intake import lead_from_email
from tests.support.identity import call
from tests.support.sales import create_service, sales_team


def _email(message_id: str, subject: str, text: str, sender: str = "Mette Hansen <mette@example.dk>") -> dict[str, Any]:
    return {"messageId": message_id, "from": sender, "to": ["x@inbound"], "subject": subject, "text": text}


def test_an_email_becomes_an_unassigned_lead_about_the_service_it_names(api: Any) -> None:
    team = sales_team(api)
    create_service(api, team.admin, name="Hovedrengøring")
    windows = create_service(api, team.admin, name="Vinduespudsning")
    first = lead_from_email(team.tenant_id, _email("<a1@mail>", "Tilbud på vinduespudsning", "Vi har 12 vinduer."))
    assert first is not None
    lead = first.lead
    assert (lead.source, lead.owner_id, lead.interest_service_id) == ("email", None, windows["id"])
    assert (lead.contact_name, lead.contact_email) == ("Mette Hansen", "mette@example.dk")
    assert lead.origin is not None
    assert (lead.origin.email_message_id, lead.origin.email_subject) == ("<a1@mail>", "Tilbud på vinduespudsning")
    assert lead.notes == "Tilbud på vinduespudsning\n\nVi har 12 vinduer."
    again = lead_from_email(team.tenant_id, _email("<a1@mail>", "Tilbud på vinduespudsning", "Vi har 12 vinduer."))
    assert again is not None
    assert (again.lead.id, again.merged) == (lead.id, False)  # the same email twice: one lead
    follow_up = lead_from_email(team.tenant_id, _email("<a2@mail>", "Re: tilbud", "Også hovedrengøring?"))
    assert follow_up is not None
    assert (follow_up.lead.id, follow_up.merged) == (lead.id, True)
    assert "Også hovedrengøring?" in str(follow_up.lead.notes)
    shown = call(api, "GET", f"/leads/{lead.id}", headers=team.manager.headers())
    assert shown.status_code == 200
    assert call(api, "GET", f"/leads/{lead.id}", headers=team.rep.headers()).status_code == 403


def test_an_email_without_a_sender_address_makes_no_lead(api: Any) -> None:
    team = sales_team(api)
    assert lead_from_email(team.tenant_id, _email("<b1@mail>", "Hej", "x", sender="MAILER-DAEMON")) is None
