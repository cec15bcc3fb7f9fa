"""The public cookie and counter register (1.6): read-only, cached, no personal data.

The ShipEx website embeds the HTML table in an iframe or reads the JSON, so both may be framed or
fetched from other origins.
"""

from django.conf import settings
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.cache import cache_page
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from shipex_privacy.protection.models import ResponsiblePerson

from .models import Cookie, Counter

CACHE_SECONDS = 10 * 60
COUNTER_PARAMETERS = (
    "collects_ip_address", "anonymises_ip", "session_replay", "tracks_clicks", "ecommerce_tracking",
    "user_id_tracking", "cross_domain", "data_retention_months",
)


def register_entries():
    cookies = Cookie.objects.prefetch_related("purposes").order_by("category", "name")
    counters = Counter.objects.filter(active=True).prefetch_related("purposes", "cookies").order_by("name")
    return cookies, counters


@require_GET
@cache_page(CACHE_SECONDS)
def cookie_register_json(request):
    cookies, counters = register_entries()
    response = JsonResponse({
        "cookies": [
            {
                "name": cookie.name, "domain": cookie.domain, "provider": cookie.provider, "party": cookie.party,
                "category": cookie.category, "lifetime_days": cookie.duration_days,
                "purposes": [purpose.clause for purpose in cookie.purposes.all()],
                "required_by": cookie.required_by,
                "required_by_uz": cookie.required_by_uz, "required_by_ru": cookie.required_by_ru,
                "description": {"uz": cookie.description_uz, "ru": cookie.description_ru, "en": cookie.description_en},
            }
            for cookie in cookies
        ],
        "counters": [
            {
                "name": counter.name, "provider": counter.provider, "counter_id": counter.counter_id,
                "placement": counter.placement,
                "placement_uz": counter.placement_uz, "placement_ru": counter.placement_ru,
                "processing_country": counter.processing_country,
                "parameters": {name: getattr(counter, name) for name in COUNTER_PARAMETERS},
                "purposes": [purpose.clause for purpose in counter.purposes.all()],
                "cookies": [cookie.name for cookie in counter.cookies.all()],
                "description": {"uz": counter.description_uz, "ru": counter.description_ru,
                                "en": counter.description_en},
            }
            for counter in counters
        ],
    }, json_dumps_params={"ensure_ascii": False})
    response["Access-Control-Allow-Origin"] = "*"  # public data, read by the ShipEx website
    return response


@require_GET
@xframe_options_exempt  # embedded by the ShipEx website; the page holds no personal data
@cache_page(CACHE_SECONDS)
def cookie_register_html(request, language: str):
    if language not in dict(settings.LANGUAGES):
        raise Http404
    with translation.override(language):
        cookies, counters = register_entries()
        return render(request, "consents/cookie_register.html", {
            "cookies": cookies, "counters": counters, "language": language,
            # "Who answers for your data" (arts. 8 and 31 of ZRU-547): the appointment current today.
            "responsible_person": ResponsiblePerson.objects.current(),
        })
