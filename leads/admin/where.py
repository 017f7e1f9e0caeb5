"""The routing rules' "Where would a lead go?" page: pick a lead or type one, and see the rule that decides, the
pool, the agent that would get it now and why (leads.assignment.preview), with every agent of the pool.

Served by RoutingRuleAdmin as `admin:leads_routingrule_where`, linked from the rules list. Whoever may view the
routing rules may open it. It only reads, so the form is a GET and a result page's address can be shared; every
part of it is computed at the request's one moment (core.clock.request_as_of).
"""

from datetime import datetime
from fractions import Fraction

from django import forms
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import reverse

from core.clock import request_as_of
from leads.assignment.eligibility import SKIP_PHRASES
from leads.assignment.preview import where_would_it_go
from leads.choices import LeadStatus
from leads.models import Lead
from leads.routing import RoutingError

TYPED = ("email", "company", "source", "country", "status", "created_at")


class WhereForm(forms.Form):
    lead = forms.CharField(
        required=False,
        label="Existing lead",
        help_text="Its id or email. Leave empty to type a lead's values below instead.",
    )
    email = forms.EmailField(required=False, help_text="Its domain is what email-domain rules read.")
    company = forms.CharField(required=False, max_length=Lead._meta.get_field("company").max_length)
    source = forms.CharField(required=False, max_length=Lead._meta.get_field("source").max_length)
    country = forms.CharField(required=False, max_length=Lead._meta.get_field("country").max_length)
    status = forms.ChoiceField(required=False, choices=[("", "New (default)"), *LeadStatus.choices])
    created_at = forms.DateTimeField(
        required=False,
        label="Created at",
        help_text="An ISO date or date-time (2026-11-24 09:30) in the site's time zone; empty: now.",
    )

    def __init__(self, *args, as_of: datetime, **kwargs):
        super().__init__(*args, **kwargs)
        self.as_of = as_of

    def clean_lead(self):
        text = self.cleaned_data["lead"].strip()
        if not text:
            return None
        by_id = text.isascii() and text.isdigit() and len(text) <= 18  # beyond any id: not a database error
        lead = (Lead.objects.filter(pk=int(text)) if by_id else Lead.objects.filter(email=text)).first()
        if lead is None:
            raise forms.ValidationError(f"No lead has the id or email {text!r}.")
        return lead

    def clean(self):
        cleaned = super().clean()
        lead = cleaned.get("lead")
        typed = [name for name in TYPED if self.data.get(name, "").strip()]
        if lead is not None and typed:
            raise forms.ValidationError(
                "Pick an existing lead or type a lead's values, not both (typed: " + ", ".join(typed) + ")."
            )
        return cleaned

    def the_lead(self) -> Lead:
        """The picked lead, or an unsaved one with the typed values (status new, created now when left empty)."""
        data = self.cleaned_data
        if data["lead"] is not None:
            return data["lead"]
        return Lead(
            email=data["email"],
            company=data["company"],
            source=data["source"],
            country=data["country"],
            status=data["status"] or LeadStatus.NEW,
            created_at=data["created_at"] or self.as_of,
        )


def where_view(request, *, model_admin):
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    as_of = request_as_of(request)
    submitted = any(name in request.GET for name in ("lead", *TYPED))
    form = WhereForm(request.GET if submitted else None, as_of=as_of)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Where would a lead go?",
        "opts": model_admin.model._meta,
        "form": form,
        "as_of": as_of,
    }
    if submitted and form.is_valid():
        lead = form.the_lead()
        try:
            preview = where_would_it_go(lead, as_of=as_of)
        except RoutingError as exc:
            context["routing_error"] = str(exc)
        else:
            context.update(_result(lead, preview, as_of, model_admin.admin_site.name))
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/leads/routingrule/where.html", context)


def _result(lead: Lead, preview, as_of: datetime, site_name: str) -> dict:
    chosen = {row["id"] for row in preview.chosen}
    eligible = [
        {
            **row,
            "level": _decimal(row["next_key"]),
            "share_shown": _decimal(row["share"]),
            "chosen": row["id"] in chosen,
        }
        for row in preview.pool.eligible
    ]
    skipped = [
        {
            **row,
            "reason": SKIP_PHRASES[row["skipped"]],
            "until_at": datetime.fromisoformat(row["until"]) if row.get("until") else None,
        }
        for row in preview.pool.skipped
    ]
    rule = preview.route.rule
    return {
        "lead": lead,
        "lead_url": reverse("admin:leads_lead_change", args=[lead.pk], current_app=site_name) if lead.pk else "",
        "lead_class": lead.classification_at(as_of),
        "preview": preview,
        "rule_url": reverse("admin:leads_routingrule_change", args=[rule.id], current_app=site_name) if rule else "",
        "eligible": eligible,
        "skipped": skipped,
        "tie": [row for row in eligible if row["chosen"]] if len(chosen) > 1 else [],
        "agent": next((row for row in eligible if row["chosen"]), None) if len(chosen) == 1 else None,
    }


def _decimal(fraction: str) -> str:
    """A fraction as PoolReport keeps it ("3/2"), shown as a short decimal ("1.5")."""
    return f"{float(Fraction(fraction)):.3g}"
