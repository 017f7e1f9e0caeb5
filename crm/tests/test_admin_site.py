from django.apps import apps
from django.contrib import admin
from django.urls import resolve, reverse

from crm.admin_site import CrmAdminSite


def test_the_default_admin_site_is_the_crm_site():
    assert isinstance(admin.site, CrmAdminSite)
    assert apps.get_app_config("admin").default_site == "crm.admin_site.CrmAdminSite"
    assert admin.site.site_header == "Lead management"
    assert admin.site.site_title == "Lead management"
    assert admin.site.index_title == "Sales operations"


def test_nothing_on_the_admin_site_is_patched():
    site = admin.site._wrapped  # the CrmAdminSite behind the lazy admin.site
    assert type(site) is CrmAdminSite
    callables = sorted(name for name, value in vars(site).items() if callable(value))
    shadowing = sorted(name for name in vars(site) if hasattr(CrmAdminSite, name))
    assert callables == []
    assert shadowing == []
    for name in ("get_urls", "each_context", "get_app_list", "login"):
        assert getattr(site, name).__func__ is vars(CrmAdminSite)[name]


def test_the_leads_pages_are_served_by_the_crm_site():
    for name, url in [
        ("lead_overview", "/admin/lead-overview/"),
        ("lead_overview_verify", "/admin/lead-overview/verify/"),
        ("my_leads", "/admin/my-leads/"),
    ]:
        assert reverse(f"admin:{name}") == url
        assert resolve(url).namespace == "admin"
