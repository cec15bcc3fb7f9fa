"""Seed the response templates: for each request kind, a "done" and a "refused" text in Uzbek,
Russian and English. The compliance team edits them in the admin; each seeded row gets its
first history row. Placeholders in braces are filled from the request (ResponseTemplate.PLACEHOLDERS).
"""

from django.db import migrations
from django.utils import timezone

REASON = "Seeded response templates (migration rights_requests 0005)"

OPENING = {
    "uz": "Hurmatli {subject_name}!\n\n{received_on} kuni olingan №{request_id} murojaatingiz ({kind}) boʻyicha "
          "javob beramiz.\n\n",
    "ru": "Уважаемый(ая) {subject_name}!\n\nОтвечаем на ваш запрос № {request_id} ({kind}), полученный "
          "{received_on}.\n\n",
    "en": "Dear {subject_name},\n\nThis is our answer to your request No. {request_id} ({kind}), received on "
          "{received_on}.\n\n",
}
CLOSING = {
    "uz": "\n\nHurmat bilan,\nShipEx maxfiylik xizmati, {closed_on}",
    "ru": "\n\nС уважением,\nСлужба конфиденциальности ShipEx, {closed_on}",
    "en": "\n\nKind regards,\nShipEx privacy team, {closed_on}",
}
DONE = {
    "access": {
        "uz": "Shaxsga doir maʼlumotlaringiz nusxasi ilova qilingan arxivda. Uning SHA-256 nazorat yigʻindisi: "
              "{package_sha256}.",
        "ru": "Копия ваших персональных данных — в приложенном архиве. Его контрольная сумма SHA-256: "
              "{package_sha256}.",
        "en": "A copy of your personal data is in the attached archive. Its SHA-256 checksum is {package_sha256}.",
    },
    "information": {
        "uz": "Ilova qilingan arxivda qaysi maʼlumotlaringizga qanday maqsadda va qancha muddat ishlov berishimiz "
              "hamda ular kimlarga berilgani koʻrsatilgan (SHA-256: {package_sha256}).",
        "ru": "В приложенном архиве указано, какие ваши данные мы обрабатываем, с какой целью и как долго храним, "
              "а также кому они передавались (SHA-256: {package_sha256}).",
        "en": "The attached archive sets out which of your data we process, why and for how long, and to whom "
              "it was disclosed (SHA-256: {package_sha256}).",
    },
    "correction": {
        "uz": "Maʼlumotlaringiz soʻrovingizga muvofiq tuzatildi.",
        "ru": "Ваши данные исправлены в соответствии с вашим запросом.",
        "en": "Your data has been corrected as you asked.",
    },
    "erasure": {
        "uz": "Maʼlumotlaringiz bilan quyidagicha ish tutildi:\n{erasure_report}",
        "ru": "С вашими данными сделано следующее:\n{erasure_report}",
        "en": "This is what we did with your data:\n{erasure_report}",
    },
    "consent_withdrawal": {
        "uz": "Rozilikingiz qaytarib olindi; unga asoslangan ishlov berish toʻxtatildi.",
        "ru": "Ваше согласие отозвано; обработка на его основании прекращена.",
        "en": "Your consent has been withdrawn; processing based on it has stopped.",
    },
    "stop": {
        "uz": "Hisobingizdan chiqarildingiz va rozilikka asoslangan ishlov berish toʻxtatildi (1.5.2-band).",
        "ru": "Вы вышли из учётной записи, обработка на основании согласия прекращена (п. 1.5.2).",
        "en": "You have been logged out and processing based on your consent has stopped (clause 1.5.2).",
    },
    "advertising_objection": {
        "uz": "Bundan buyon sizga reklama xabarlarini yubormaymiz.",
        "ru": "Мы больше не будем направлять вам рекламные сообщения.",
        "en": "We will no longer send you advertising.",
    },
    "complaint": {
        "uz": "Shikoyatingiz koʻrib chiqildi. Natijalari:\n",
        "ru": "Мы рассмотрели вашу жалобу. Результаты:\n",
        "en": "We have looked into your complaint. Our findings:\n",
    },
}
REFUSED = {
    "uz": "Afsuski, murojaatingizni bajara olmaymiz. Sababi:\n\n\nBu qarorga rozi boʻlmasangiz, shaxsga doir "
          "maʼlumotlar sohasidagi vakolatli davlat organiga yoki sudga murojaat qilishingiz mumkin.",
    "ru": "К сожалению, мы не можем выполнить ваш запрос. Причина:\n\n\nЕсли вы не согласны с этим решением, "
          "вы можете обратиться в уполномоченный государственный орган в области персональных данных или в суд.",
    "en": "We are unable to carry out your request, for this reason:\n\n\nIf you disagree with this decision, "
          "you may apply to the authorised state body for personal data or to a court.",
}


def seed(apps, schema_editor):
    ResponseTemplate = apps.get_model("rights_requests", "ResponseTemplate")
    History = apps.get_model("rights_requests", "HistoricalResponseTemplate")
    now = timezone.now()
    for kind, texts in DONE.items():
        for language in ("uz", "ru", "en"):
            for outcome, middle in (("done", texts[language]), ("refused", REFUSED[language])):
                template = ResponseTemplate.objects.create(
                    kind=kind, outcome=outcome, language=language,
                    body=OPENING[language] + middle + CLOSING[language])
                values = {field.attname: getattr(template, field.attname) for field in template._meta.concrete_fields}
                History.objects.create(history_date=now, history_type="+", history_change_reason=REASON, **values)


class Migration(migrations.Migration):
    dependencies = [("rights_requests", "0004_templates_packages_erasure")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
