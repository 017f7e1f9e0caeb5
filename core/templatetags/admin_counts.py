"""The changelist's count in words where EstimatedCountPaginator estimated it (core.admin_counts)."""

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def estimated_count(paginator, noun_plural: str):
    """ "about 8,012,000 leads (estimated)", or "more than 100,000 leads (estimated)" where the engine only
    counted that far; the tooltip says why. An estimate is rounded to the thousand: its last digits mean
    nothing."""
    count = paginator.count
    if paginator.lower_bound:
        text = f"more than {count - 1:,} {noun_plural} (estimated)"
    else:
        text = f"about {round(count, -3) if count >= 10_000 else count:,} {noun_plural} (estimated)"
    why = (
        f"Lists of more than {paginator.cap:,} rows are not counted exactly (ADMIN_EXACT_COUNT_UP_TO): counting "
        "millions of rows takes seconds. The number of pages is estimated too."
    )
    return format_html('<span class="estimated-count" title="{}">{}</span>', why, text)
