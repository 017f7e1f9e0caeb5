"""Friendly 403 and 404 pages in the admin's look (used when DEBUG is off; a 403 is always this page)."""

from django.contrib import admin
from django.template.response import TemplateResponse


def permission_denied(request, exception=None):
    return _page(request, "403.html", 403, "You may not open this page")


def page_not_found(request, exception=None):
    return _page(request, "404.html", 404, "Page not found")


def _page(request, template: str, status: int, title: str):
    context = {**admin.site.each_context(request), "title": title}
    response = TemplateResponse(request, template, context, status=status)
    return response.render()
