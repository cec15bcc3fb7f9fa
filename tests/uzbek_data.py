"""Realistic Uzbek and Russian personal data for factories and the demo: names, +998 numbers,
addresses in Tashkent, Samarqand and Buxoro, and PINFLs with a valid check digit."""

import datetime

from factory.random import randgen

from shipex_privacy.core.identifiers import pinfl_check_digit

UZBEK_MALE = ["Aziz", "Jasur", "Sardor", "Bekzod", "Otabek", "Sherzod", "Farrux", "Doniyor", "Rustam",
              "Ulugʻbek", "Javlon", "Islom", "Akmal", "Dilshod", "Bobur", "Shoxrux", "Anvar", "Nodir"]
UZBEK_FEMALE = ["Dilnoza", "Madina", "Gulnora", "Nilufar", "Shahnoza", "Zarina", "Malika", "Feruza",
                "Sevara", "Kamola", "Mohira", "Nodira", "Gulchehra", "Dildora", "Munisa"]
UZBEK_SURNAMES = ["Karimov", "Rahimov", "Tursunov", "Yusupov", "Abdullayev", "Ismoilov", "Saidov",
                  "Qodirov", "Ergashev", "Mirzayev", "Nazarov", "Xolmatov", "Usmonov", "Sobirov",
                  "Gʻofurov", "Toʻxtayev", "Normatov", "Aliyev"]
# Russian speakers of Uzbekistan, names as they write them (Cyrillic): (male, female, patronymic stem).
RUSSIAN_FIRST = [("Сергей", "Елена"), ("Дмитрий", "Ольга"), ("Александр", "Татьяна"), ("Андрей", "Наталья"),
                 ("Владимир", "Ирина"), ("Николай", "Светлана"), ("Павел", "Анна"), ("Виктор", "Людмила")]
RUSSIAN_SURNAMES = [("Иванов", "Иванова"), ("Петров", "Петрова"), ("Смирнов", "Смирнова"),
                    ("Кузнецов", "Кузнецова"), ("Попов", "Попова"), ("Волков", "Волкова"),
                    ("Ким", "Ким"), ("Пак", "Пак"), ("Цой", "Цой"), ("Ли", "Ли")]
RUSSIAN_PATRONYMICS = [("Сергеевич", "Сергеевна"), ("Петрович", "Петровна"), ("Александрович", "Александровна"),
                       ("Викторович", "Викторовна"), ("Николаевич", "Николаевна"), ("Юрьевич", "Юрьевна")]

MOBILE_OPERATORS = ["90", "91", "93", "94", "95", "97", "98", "99", "33", "88", "77", "50"]

CITIES = {
    "Toshkent shahri": {
        "postal_prefix": "100",
        "districts": ["Yunusobod tumani", "Chilonzor tumani", "Mirzo Ulugʻbek tumani", "Yakkasaroy tumani",
                      "Shayxontohur tumani", "Olmazor tumani", "Sergeli tumani", "Mirobod tumani",
                      "Uchtepa tumani", "Yashnobod tumani"],
        "streets": ["Amir Temur shoh koʻchasi", "Bogʻishamol koʻchasi", "Nukus koʻchasi", "Shota Rustaveli koʻchasi",
                    "Labzak koʻchasi", "Oybek koʻchasi", "Alisher Navoiy koʻchasi", "Bunyodkor shoh koʻchasi",
                    "Qatortol koʻchasi", "Muqimiy koʻchasi"],
        "landmarks": ["Chorsu bozori yonida", "Korzinka supermarketi roʻparasida", "Chilonzor metrosi yaqinida",
                      "Texnopark orqasida", "Mega Planet savdo markazi yonida"],
    },
    "Samarqand viloyati": {
        "postal_prefix": "140",
        "districts": ["Samarqand shahri", "Urgut tumani", "Kattaqoʻrgʻon shahri"],
        "streets": ["Registon koʻchasi", "Universitet xiyoboni", "Mirzo Ulugʻbek koʻchasi", "Dagbit koʻchasi"],
        "landmarks": ["Siyob bozori yonida", "Registon maydoni yaqinida", "temir yoʻl vokzali roʻparasida"],
    },
    "Buxoro viloyati": {
        "postal_prefix": "200",
        "districts": ["Buxoro shahri", "Gʻijduvon tumani", "Kogon shahri"],
        "streets": ["Bahouddin Naqshband koʻchasi", "Mustaqillik koʻchasi", "Piridastgir koʻchasi"],
        "landmarks": ["Labi hovuz yaqinida", "markaziy dehqon bozori yonida"],
    },
}
# Tashkent is where most ShipEx customers live.
REGION_WEIGHTS = {"Toshkent shahri": 6, "Samarqand viloyati": 2, "Buxoro viloyati": 2}


def choice(options):
    return randgen.choice(options)


def person() -> dict:
    """A full name, sex and preferred language: about four in five Uzbek, one in five Russian-speaking."""
    female = randgen.random() < 0.5
    if randgen.random() < 0.8:
        father = choice(UZBEK_MALE)
        first = choice(UZBEK_FEMALE if female else UZBEK_MALE)
        surname = choice(UZBEK_SURNAMES) + ("a" if female else "")
        patronymic = f"{father} {'qizi' if female else 'oʻgʻli'}"
        language = "uz"
    else:
        first = choice(RUSSIAN_FIRST)[female]
        surname = choice(RUSSIAN_SURNAMES)[female]
        patronymic = choice(RUSSIAN_PATRONYMICS)[female]
        language = "ru"
    return {"full_name": f"{surname} {first} {patronymic}", "female": female, "language": language}


def mobile_phone() -> str:
    return f"+998{choice(MOBILE_OPERATORS)}{randgen.randint(0, 9_999_999):07d}"


def birth_date() -> datetime.date:
    return datetime.date(1955, 1, 1) + datetime.timedelta(days=randgen.randint(0, 365 * 50))


def pinfl(born: datetime.date, female: bool) -> str:
    """A PINFL: sex and century digit, birth date DDMMYY, district code, serial, check digit."""
    century_digit = (3 if born.year < 2000 else 5) + (1 if female else 0)
    first_thirteen = f"{century_digit}{born:%d%m%y}{randgen.randint(1, 999):03d}{randgen.randint(0, 999):03d}"
    return first_thirteen + str(pinfl_check_digit(first_thirteen))


def passport() -> str:
    return f"{choice(['AA', 'AB', 'AC', 'AD', 'FA'])}{randgen.randint(0, 9_999_999):07d}"


def address() -> dict:
    region = randgen.choices(list(REGION_WEIGHTS), weights=list(REGION_WEIGHTS.values()))[0]
    city = CITIES[region]
    return {
        "region": region,
        "city": choice(city["districts"]),
        "street": f"{choice(city['streets'])}, {randgen.randint(1, 120)}-uy, {randgen.randint(1, 90)}-xonadon",
        "landmark": choice(city["landmarks"]) if randgen.random() < 0.6 else "",
        "postal_code": f"{city['postal_prefix']}{randgen.randint(0, 999):03d}",
    }
