# ruff: noqa: E501 — one paragraph a line, as the texts are pasted into the policy form
"""The demo's privacy-policy texts, in uz/ru/en, long enough to read like the published policy.

A leading underscore keeps Django from taking this module for a management command.
Version 2025.1 is the policy as first published; 2026.1 adds the counters' sentence (1.6.4) and
the written-consent rule for special data; the 2027.1 draft adds the cross-border paragraph.
"""

POLICY_2025 = {
    "uz": """ShipEx maxfiylik siyosati

1.1 Ushbu siyosat ShipEx sayt, ilova, mahsulot va xizmatlaridan (“Xizmat”) foydalanuvchi haqida, shuningdek u bilan tuzilgan har qanday shartnomani bajarish jarayonida ShipEx olishi mumkin boʻlgan barcha maʼlumotlarga tatbiq etiladi. Xizmatdan foydalanish ushbu siyosatga toʻliq roziligingizni bildiradi; rozi boʻlmasangiz, Xizmatdan foydalanmang.

1.2 Biz toʻplaydigan maʼlumotlar
1.2.1.1 Roʻyxatdan oʻtishda yoki Xizmatdan foydalanishda oʻzingiz bergan maʼlumotlar: ism-sharif, telefon raqami, elektron pochta, yetkazib berish manzillari. Xizmat uchun majburiy maʼlumotlar alohida belgilanadi, qolganlari ixtiyoriy.
1.2.1.2 Qurilmangizdagi dasturlar avtomatik yuboradigan maʼlumotlar: IP-manzil, cookie maʼlumotlari, brauzer va qurilma xususiyatlari, kirish sanasi va vaqti, ochilgan sahifalar manzillari.
1.2.1.3 Foydalanish shartlarida nazarda tutilgan boshqa maʼlumotlar, masalan xalqaro joʻnatmalar uchun bojxona deklaratsiyasi.

1.3 Maʼlumotlardan foydalanish maqsadlari
1.3.1 Biz faqat Xizmat koʻrsatish yoki shartnomalarni bajarish uchun zarur maʼlumotlarni toʻplaymiz va saqlaymiz, qonunda majburiy saqlash muddati belgilangan hollar bundan mustasno.
1.3.2 Maʼlumotlar quyidagi maqsadlarda ishlatiladi: Xizmat va shartnomalar tomonini aniqlash (1.3.2.1); tegishli xizmatlarni koʻrsatish va shartnomalarni bajarish (1.3.2.2); siz bilan aloqa, xabarnomalar va murojaatlaringizni koʻrib chiqish (1.3.2.3); Xizmat sifatini oshirish va yangi xizmatlar yaratish (1.3.2.4); sizga mos reklama materiallarini tayyorlash, faqat roziligingiz bilan (1.3.2.5); shaxssizlashtirilgan maʼlumotlar asosida statistik tadqiqotlar (1.3.2.6).

1.4 Maʼlumotlarni saqlash va uchinchi shaxslarga berish
1.4.1 Maʼlumotlar har bir xizmatning ichki qoidalariga muvofiq saqlanadi.
1.4.2 Maʼlumotlaringiz maxfiy saqlanadi, oʻzingiz cheklanmagan doiradagi shaxslarga ochiq qilgan maʼlumotlar bundan mustasno.
1.4.3 Maʼlumotlaringiz uchinchi shaxslarga faqat quyidagi hollarda beriladi: roziligingiz bilan; siz foydalanayotgan xizmat yoki siz bilan tuzilgan shartnoma uchun zarur boʻlsa (masalan, kuryerlik xizmatiga yetkazib berish manzili); Oʻzbekiston Respublikasi qonunchiligida belgilangan tartibda talab qilinganda; biznes sotilganda yoki boshqa shaxsga oʻtkazilganda, oluvchi ushbu siyosat majburiyatlarini oʻz zimmasiga olsa; shaxssizlashtirilgan statistik maʼlumotlar koʻrinishida.

1.5 Sizning huquqlaringiz
1.5.1 Maʼlumotlaringizni ilovaning “Shaxsiy” boʻlimida istalgan vaqtda koʻrishingiz, oʻzgartirishingiz yoki oʻchirishni soʻrashingiz mumkin.
1.5.2 Rozilikni qaytarib olishingiz yoki maʼlumotlaringizga ishlov berishni toʻxtatishni soʻrashingiz mumkin; bu ayrim xizmatlardan foydalanish imkoniyatini cheklashi mumkin.

1.6 Cookie va hisoblagichlar
1.6.1 Sayt va ilova ishlashi, sozlamalaringizni eslab qolish va statistika uchun cookie fayllaridan foydalanamiz; ularni brauzer sozlamalarida oʻchirib qoʻyishingiz mumkin.

1.7 Maʼlumotlarni himoya qilish
1.7.1 ShipEx maʼlumotlarni ruxsatsiz yoki tasodifiy kirish, yoʻq qilish, oʻzgartirish, bloklash, nusxalash va tarqatishdan himoya qilish uchun tashkiliy va texnik choralarni koʻradi.

Savollar va murojaatlar: dpo@shipex.uz, +998 71 207-00-47.""",
    "ru": """Политика конфиденциальности ShipEx

1.1 Настоящая политика распространяется на всю информацию, которую ShipEx может получить о пользователе сайтов, приложений, продуктов и услуг ShipEx («Сервис»), а также при исполнении любого договора с пользователем. Использование Сервиса означает полное согласие с этой политикой; если вы не согласны, не пользуйтесь Сервисом.

1.2 Какие данные мы собираем
1.2.1.1 Данные, которые вы сообщаете о себе при регистрации или при использовании Сервиса: имя, номер телефона, электронная почта, адреса доставки. Обязательные для Сервиса данные отмечены особо, остальные вы указываете по своему усмотрению.
1.2.1.2 Данные, которые автоматически передают программы на вашем устройстве: IP-адрес, данные cookie, сведения о браузере и устройстве, дата и время доступа, адреса запрошенных страниц.
1.2.1.3 Иные данные, предусмотренные условиями использования, например таможенная декларация международного отправления.

1.3 Цели обработки
1.3.1 Мы собираем и храним только данные, необходимые для оказания Сервиса или исполнения договоров, кроме случаев, когда закон требует хранить их в течение установленного срока.
1.3.2 Данные используются для: идентификации стороны в рамках Сервиса и договоров (1.3.2.1); оказания подходящих услуг и исполнения договоров (1.3.2.2); связи с вами, уведомлений и рассмотрения ваших обращений (1.3.2.3); улучшения качества Сервиса и разработки новых услуг (1.3.2.4); подготовки подходящих вам рекламных материалов — только с вашего согласия (1.3.2.5); статистических исследований на обезличенных данных (1.3.2.6).

1.4 Хранение и передача третьим лицам
1.4.1 Данные хранятся по внутренним правилам каждого сервиса.
1.4.2 Ваши данные конфиденциальны, кроме тех, что вы сами сделали доступными неограниченному кругу лиц.
1.4.3 Мы передаём ваши данные третьим лицам только: с вашего согласия; если это нужно для услуги, которой вы пользуетесь, или для договора с вами (например, адрес доставки курьерской службе); по требованию законодательства Республики Узбекистан в установленном порядке; при продаже или иной передаче бизнеса, если приобретатель принимает все обязательства этой политики; в виде обезличенной статистики.

1.5 Ваши права
1.5.1 В разделе «Личное» приложения вы в любой момент можете посмотреть и изменить свои данные или попросить их удалить.
1.5.2 Вы можете отозвать согласие или потребовать прекратить обработку данных; это может ограничить доступ к некоторым услугам.

1.6 Cookie и счётчики
1.6.1 Мы используем cookie для работы сайта и приложения, запоминания ваших настроек и статистики; их можно отключить в настройках браузера.

1.7 Защита данных
1.7.1 ShipEx принимает организационные и технические меры для защиты данных от неправомерного или случайного доступа, уничтожения, изменения, блокирования, копирования и распространения.

Вопросы и обращения: dpo@shipex.uz, +998 71 207-00-47.""",
    "en": """ShipEx privacy policy

1.1 This policy covers all information ShipEx may obtain about a user of the ShipEx sites, apps, products and services (“the Service”), and while performing any contract with the user. Using the Service means full consent to this policy; if you do not agree, please do not use the Service.

1.2 What we collect
1.2.1.1 What you tell us about yourself when you register or use the Service: your name, phone number, e-mail and delivery addresses. Data the Service cannot do without is marked as mandatory; everything else you give at your discretion.
1.2.1.2 What the software on your device sends automatically: IP address, cookie data, browser and device details, date and time of access, addresses of the pages you open.
1.2.1.3 Other data our terms of use provide for, such as the customs declaration of an international parcel.

1.3 Why we use it
1.3.1 We collect and keep only the data needed to provide the Service or perform contracts with you, except where the law requires us to keep it for a set period.
1.3.2 We use your data to: identify the party to the Service and contracts (1.3.2.1); provide suitable services and perform contracts (1.3.2.2); keep in touch with you, send notifications and handle your requests (1.3.2.3); improve the Service and develop new services (1.3.2.4); prepare advertising suited to you, only with your consent (1.3.2.5); run statistical research on depersonalised data (1.3.2.6).

1.4 Storage and disclosure to third parties
1.4.1 Data is stored under the internal rules of each service.
1.4.2 Your data is kept confidential, except what you yourself made available to everyone.
1.4.3 We give your data to third parties only: with your consent; where a service you use or a contract with you needs it (a courier needs your delivery address, for example); where the law of Uzbekistan requires it, through the established procedure; when the business is sold or otherwise transferred and the acquirer takes over every obligation of this policy; as depersonalised statistics.

1.5 Your rights
1.5.1 In the app's “Personal” section you can see and change your data at any time, or ask us to erase it.
1.5.2 You can withdraw a consent or ask us to stop processing your data; some services may then no longer be available to you.

1.6 Cookies and counters
1.6.1 We use cookies to run the site and the app, remember your settings and count visits; you can switch them off in your browser's settings.

1.7 Protection
1.7.1 ShipEx takes organisational and technical measures to protect data against unauthorised or accidental access, destruction, modification, blocking, copying and distribution.

Questions and requests: dpo@shipex.uz, +998 71 207-00-47.""",
}

# Added in 2026.1, after 1.6.1.
ADDED_2026 = {
    "uz": "1.6.4 Xizmatlarda hisoblagichlar qoʻllaniladi; ularning parametrlari ShipEx tomonidan belgilanadi.\n"
          "1.3.3 Maxsus toifadagi maʼlumotlarga rozilik faqat yozma yoki elektron shaklda (ilova, sayt yoki ofisda "
          "imzolangan ariza) olinadi.",
    "ru": "1.6.4 В Сервисах используются счётчики; их параметры определяет ShipEx.\n"
          "1.3.3 Согласие на обработку данных специальных категорий принимается только в письменной или электронной "
          "форме (приложение, сайт или подписанное заявление в офисе).",
    "en": "1.6.4 The Services use counters; ShipEx sets their parameters.\n"
          "1.3.3 Consent to special categories of data is taken only in writing or electronically (the app, the "
          "website or a form signed at the office).",
}

# Drafted for 2027.1.
ADDED_2027 = {
    "uz": "1.4.4 Maʼlumotlar Oʻzbekistondan tashqariga faqat qonunda belgilangan asosda (namunaviy shartnoma "
          "shartlari yoki roziligingiz) uzatiladi. (loyiha)",
    "ru": "1.4.4 Данные передаются за пределы Узбекистана только на предусмотренном законом основании (типовые "
          "договорные условия или ваше согласие). (проект)",
    "en": "1.4.4 Data leaves Uzbekistan only on a ground the law provides (standard contractual clauses or your "
          "consent). (draft)",
}


def with_added(base: dict, *additions: dict) -> dict:
    return {language: "\n\n".join([text, *(added[language] for added in additions)])
            for language, text in base.items()}
