"""Seed the cookie and counter register with what ShipEx's website and app set today (1.6).

Counter ids are placeholders until the marketing team enters the real ones. Each row gets its
first history row, so the register's history starts with the seed.
"""

from django.db import migrations
from django.utils import timezone

REASON = "Seeded cookie register (migration consents 0002)"

COOKIES = [
    # name, domain, provider, party, category, days (None = session), clauses, required by, uz, ru, en
    ("sessionid", "shipex.uz", "ShipEx", "first", "strictly_necessary", None, ("1.3.2.2",),
     "Web cabinet, order tracking",
     "Shaxsiy kabinetga kirgan foydalanuvchini taniydi.", "Узнаёт вошедшего в личный кабинет пользователя.",
     "Keeps a signed-in user signed in."),
    ("csrftoken", "shipex.uz", "ShipEx", "first", "strictly_necessary", 365, ("1.3.2.2",),
     "All forms of the website",
     "Formalarni soxta soʻrovlardan himoya qiladi.", "Защищает формы от поддельных запросов.",
     "Protects forms against forged requests."),
    ("shipex_lang", "shipex.uz", "ShipEx", "first", "functional", 365, ("1.3.2.2",), "",
     "Tanlangan til.", "Выбранный язык.", "The chosen language."),
    ("_ym_uid", ".shipex.uz", "Yandex Metrica", "third", "analytics", 365, ("1.3.2.4", "1.3.2.6"), "",
     "Tashrif statistikasi uchun brauzerni ajratadi.", "Различает браузеры для статистики посещений.",
     "Tells browsers apart for visit statistics."),
    ("_ym_d", ".shipex.uz", "Yandex Metrica", "third", "analytics", 365, ("1.3.2.4",), "",
     "Birinchi tashrif sanasi.", "Дата первого визита.", "Date of the first visit."),
    ("_ga", ".shipex.uz", "Google Analytics", "third", "analytics", 400, ("1.3.2.4", "1.3.2.6"), "",
     "Tashrif statistikasi uchun brauzerni ajratadi.", "Различает браузеры для статистики посещений.",
     "Tells browsers apart for visit statistics."),
    ("shipex_ads", ".shipex.uz", "ShipEx", "first", "advertising", 90, ("1.3.2.5",), "",
     "Foydalanuvchiga mos reklama koʻrsatish uchun qiziqishlar.", "Интересы для подбора рекламы.",
     "Interests for choosing advertising suited to the user."),
]

COUNTERS = [
    # name, provider, id, placement, country, parameters, clauses, cookies, uz, ru, en
    ("Yandex Metrica", "Yandex", "00000000", "shipex.uz, all pages", "RU",
     {"collects_ip_address": True, "anonymises_ip": False, "session_replay": False, "tracks_clicks": True,
      "ecommerce_tracking": False, "user_id_tracking": False, "cross_domain": False, "data_retention_months": 13},
     ("1.3.2.4", "1.3.2.6"), ("_ym_uid", "_ym_d"),
     "Sayt tashriflari statistikasi.", "Статистика посещений сайта.", "Website visit statistics."),
    ("Google Analytics 4", "Google", "G-0000000000", "shipex.uz, all pages", "US",
     {"collects_ip_address": True, "anonymises_ip": True, "session_replay": False, "tracks_clicks": False,
      "ecommerce_tracking": False, "user_id_tracking": False, "cross_domain": False, "data_retention_months": 14},
     ("1.3.2.4", "1.3.2.6"), ("_ga",),
     "Sayt tashriflari statistikasi.", "Статистика посещений сайта.", "Website visit statistics."),
]


def first_history_row(apps, obj, model_name, when):
    History = apps.get_model("consents", f"Historical{model_name}")
    values = {field.attname: getattr(obj, field.attname) for field in obj._meta.concrete_fields}
    return History.objects.create(history_date=when, history_type="+", history_change_reason=REASON, **values)


def history_links(apps, history, obj, field_name, model_name):
    """The m2m part of a history row, as simple-history would have written it."""
    Historical = apps.get_model("consents", f"Historical{model_name}_{field_name}")
    through = getattr(type(obj), field_name).through
    owner = model_name.lower()
    for link in through.objects.filter(**{owner: obj}):
        values = {f.attname: getattr(link, f.attname) for f in through._meta.concrete_fields}
        Historical.objects.create(history=history, **values)


def seed(apps, schema_editor):
    Purpose = apps.get_model("catalogue", "Purpose")
    Cookie = apps.get_model("consents", "Cookie")
    Counter = apps.get_model("consents", "Counter")
    purposes = {purpose.clause: purpose for purpose in Purpose.objects.all()}
    now = timezone.now()
    cookies = {}
    for name, domain, provider, party, category, days, clauses, required_by, uz, ru, en in COOKIES:
        cookie = Cookie.objects.create(
            name=name, domain=domain, provider=provider, party=party, category=category, duration_days=days,
            required_by=required_by, description_uz=uz, description_ru=ru, description_en=en,
        )
        cookie.purposes.set([purposes[clause] for clause in clauses])
        history_links(apps, first_history_row(apps, cookie, "Cookie", now), cookie, "purposes", "Cookie")
        cookies[name] = cookie
    for name, provider, counter_id, placement, country, parameters, clauses, names, uz, ru, en in COUNTERS:
        counter = Counter.objects.create(
            name=name, provider=provider, counter_id=counter_id, placement=placement, processing_country=country,
            description_uz=uz, description_ru=ru, description_en=en, **parameters,
        )
        counter.purposes.set([purposes[clause] for clause in clauses])
        counter.cookies.set([cookies[cookie] for cookie in names])
        history = first_history_row(apps, counter, "Counter", now)
        history_links(apps, history, counter, "purposes", "Counter")
        history_links(apps, history, counter, "cookies", "Counter")


class Migration(migrations.Migration):
    dependencies = [("consents", "0001_initial"), ("catalogue", "0002_seed_catalogue")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
