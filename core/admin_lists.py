"""Narrow list columns, so that the main changelists fit a laptop screen (1366 px, the sidebar open).

Long values are cut with an ellipsis at a fixed width and keep the whole text in their tooltip; dates are
shown short (a date, or a date and minutes) in the current time zone; a person is shown by name.
"""

from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html


class NarrowListMixin:
    """Wire into a ModelAdmin whose changelist must fit 1366 px: a narrower filter panel and cell padding."""

    class Media:
        css = {"all": ["core/admin_lists.css"]}


ELLIPSIS_STYLE = (
    "display:inline-block;max-width:{};overflow:hidden;text-overflow:ellipsis;white-space:nowrap;vertical-align:bottom"
)


def truncated(value, width: str = "14em"):
    """The value on one line of at most `width`, cut with an ellipsis; the whole value in the tooltip."""
    if value in (None, ""):
        return "-"
    return format_html('<span title="{}" style="{}">{}</span>', value, ELLIPSIS_STYLE.format(width), value)


def short_date(value) -> str:
    return "-" if value is None else f"{timezone.localtime(value):%Y-%m-%d}"


def short_datetime(value) -> str:
    return "-" if value is None else f"{timezone.localtime(value):%Y-%m-%d %H:%M}"


def agent_name(agent, width: str = "10em"):
    """An agent by name (the email is on its page): the column stays narrow."""
    return "-" if agent is None else truncated(agent.name or agent.email, width)


def text_column(field: str, description: str, width: str = "14em"):
    """A list_display entry: the field (or a related one, `lead__name`) cut at `width`, sortable by it."""

    @admin.display(description=description, ordering=field)
    def column(obj):
        value = obj
        for part in field.split("__"):
            value = getattr(value, part) if value is not None else None
        return truncated(value, width)

    column.__name__ = f"{field}_short"
    return column


def date_column(field: str, description: str, with_time: bool = False):
    """A list_display entry: the field as a short date (or date and minutes), sortable by the field."""
    show = short_datetime if with_time else short_date

    @admin.display(description=description, ordering=field)
    def column(obj):
        return show(getattr(obj, field))

    column.__name__ = f"{field}_short"
    return column


def agent_column(field: str, description: str, width: str = "10em"):
    """A list_display entry: the agent in `field` by name, sortable by that name."""

    @admin.display(description=description, ordering=f"{field}__name")
    def column(obj):
        return agent_name(getattr(obj, field), width)

    column.__name__ = f"{field}_name"
    return column
