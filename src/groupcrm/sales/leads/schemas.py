from datetime import date, datetime
from typing import Any

from ninja import Field, Schema

from groupcrm.core import pii
from groupcrm.org.schemas import Strict
from groupcrm.sales.schemas import AMOUNT_HELP, Amount

PERCENT_HELP = 'The referring side\'s share in per cent: above 0 and below 100, e.g. "20.00".'


class LeadOut(Schema):
    id: int
    company_name: str
    uscc: str
    contact_name: str
    phone: str = Field(..., description="Masked, e.g. 138****8000.")
    email: str = Field(..., description="Masked, e.g. z***@example.com.")
    province: str
    city: str
    industry: str
    source: str
    status: str
    disqualify_reason: str
    notes: str
    bu_id: int
    bu_name: str = Field(..., alias="bu.name")
    owner_id: int | None
    converted_customer_id: int | None
    converted_contact_id: int | None
    converted_opportunity_id: int | None
    converted_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_phone(obj: Any) -> str:
        return pii.mask_phone(obj.phone)

    @staticmethod
    def resolve_email(obj: Any) -> str:
        return pii.mask_email(obj.email)


class LeadIn(Strict):
    company_name: str
    uscc: str = ""
    contact_name: str = ""
    phone: str = ""
    email: str = ""
    province: str = ""
    city: str = ""
    industry: str = Field("", description='GB/T 4754 division code, e.g. "34".')
    notes: str = ""
    source: str = Field("api", description="form, import, api, referral or web.")
    bu_id: int | None = Field(None, description="Default: the caller's unit.")
    owner_id: int | None = Field(
        None, description="Default: the unit's assignment rules (own-scope callers: themselves)."
    )


class LeadPatch(Strict):
    company_name: str | None = None
    uscc: str | None = None
    contact_name: str | None = None
    phone: str | None = None
    email: str | None = None
    province: str | None = None
    city: str | None = None
    industry: str | None = None
    notes: str | None = None
    owner_id: int | None = Field(None, description="null puts the lead in its unit's queue.")


class StatusIn(Strict):
    status: str = Field(..., description="working, qualified or disqualified.")
    reason: str = Field("", description="Required to disqualify.")


class ConvertIn(Strict):
    customer_id: int | None = Field(
        None,
        description="Link to this existing customer. Default: the customer with the lead's "
        "USCC, else a new one (422 similar_customers lists look-alikes).",
    )
    similar_override_reason: str = ""
    create_opportunity: bool = False
    opportunity_name: str = ""
    amount: Amount | None = Field(None, description=AMOUNT_HELP)
    expected_close: date | None = None


class ReferralOut(Schema):
    id: int
    customer_id: int | None
    lead_id: int | None
    opportunity_id: int | None
    from_bu_id: int
    from_bu_name: str = Field(..., alias="from_bu.name")
    from_user_id: int
    to_bu_id: int
    to_bu_name: str = Field(..., alias="to_bu.name")
    to_user_id: int | None
    referrer_percent: str
    status: str
    decline_reason: str
    note: str
    decided_by_id: int | None
    decided_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_referrer_percent(obj: Any) -> str:
        return str(obj.referrer_percent)


class ReferralIn(Strict):
    to_bu_id: int
    referrer_percent: str | int | float = Field(..., description=PERCENT_HELP)
    lead_id: int | None = None
    opportunity_id: int | None = None
    to_user_id: int | None = Field(None, description="Suggested owner in the receiving unit.")
    note: str = ""


class AcceptIn(Strict):
    owner_id: int | None = Field(
        None, description="Owner in the receiving unit; default: the addressee, else the caller."
    )
    version: int | None = Field(
        None, description="The opportunity's version you saw; a stale one gives 409."
    )


class DeclineIn(Strict):
    reason: str
