"""Which IANA time zones every Russian and Kazakh region (and the cities that settle a
multi-zone region) lives in: data only, read by campaigns.timezones.

Coverage and choices:

* All 85 federal subjects of Russia as its numbering plan lists them, Crimea and
  Sevastopol included (Europe/Simferopol, Moscow time).
* Donetsk, Luhansk, Zaporizhzhia and Kherson regions are listed separately
  (CONTESTED_REGIONS): orders are delivered there and the numbering plan has ranges for
  them, but which clock a customer lives by depends on the side of the front line, so
  they carry both Europe/Moscow and Europe/Kyiv and are called only when the window is
  open in both (business-rules §4).
* Kazakhstan's 17 regions and 3 cities of republican significance, each with the IANA
  zone of its territory (Asia/Aqtobe, Asia/Oral, ...). Since 2024-03-01 all are UTC+5;
  the zone data gives the right offset for earlier dates too.
* Multi-zone regions list every zone; a city in ``city_zones`` narrows it to one:
  Yakutia (UTC+9 Asia/Yakutsk and Asia/Khandyga, UTC+10 Asia/Ust-Nera for the
  Oymyakonsky, Verkhoyansky and Ust-Yansky districts, UTC+11 Asia/Srednekolymsk),
  Sakhalin (Asia/Sakhalin, North Kurils Asia/Srednekolymsk; the same UTC+11 today).
* Names are written naturally; campaigns.timezones normalises them (case, ё, punctuation,
  the words область/республика/край/АО/г. and their abbreviations, word order), so an
  alias is needed only for a form that normalising cannot reach ("Якутия", "ХМАО").
* ``cities`` are the larger towns, for addresses that name a city but no region.
"""

from __future__ import annotations

from dataclasses import dataclass

MOSCOW = "Europe/Moscow"
YEKATERINBURG = "Asia/Yekaterinburg"
KRASNOYARSK = "Asia/Krasnoyarsk"
VLADIVOSTOK = "Asia/Vladivostok"
ALMATY = "Asia/Almaty"


@dataclass(frozen=True, slots=True)
class Region:
    """One region: its zones (the first is the main one), other names, and cities."""

    name: str
    zones: tuple[str, ...]
    aliases: tuple[str, ...] = ()
    cities: tuple[str, ...] = ()
    city_zones: tuple[tuple[str, str], ...] = ()


def _r(name: str, zone: str, *aliases: str, cities: tuple[str, ...] = ()) -> Region:
    return Region(name, (zone,), aliases, cities)


RUSSIAN_SUBJECTS: tuple[Region, ...] = (
    # republics
    _r("Республика Адыгея", MOSCOW, cities=("Майкоп",)),
    _r("Республика Алтай", "Asia/Barnaul", "Горный Алтай", cities=("Горно-Алтайск",)),
    _r("Республика Башкортостан", YEKATERINBURG, "Башкирия", cities=("Уфа", "Стерлитамак")),
    _r("Республика Бурятия", "Asia/Irkutsk", cities=("Улан-Удэ",)),
    _r("Республика Дагестан", MOSCOW, cities=("Махачкала", "Дербент")),
    _r("Республика Ингушетия", MOSCOW, cities=("Магас", "Назрань")),
    _r("Кабардино-Балкарская Республика", MOSCOW, "Кабардино-Балкария", "КБР", cities=("Нальчик",)),
    _r("Республика Калмыкия", MOSCOW, cities=("Элиста",)),
    _r(
        "Карачаево-Черкесская Республика",
        MOSCOW,
        "Карачаево-Черкесия",
        "КЧР",
        cities=("Черкесск",),
    ),
    _r("Республика Карелия", MOSCOW, cities=("Петрозаводск",)),
    _r("Республика Коми", MOSCOW, cities=("Сыктывкар", "Ухта", "Воркута")),
    _r("Республика Крым", "Europe/Simferopol", cities=("Симферополь", "Керчь", "Ялта")),
    _r("Республика Марий Эл", MOSCOW, cities=("Йошкар-Ола",)),
    _r("Республика Мордовия", MOSCOW, cities=("Саранск",)),
    Region(
        "Республика Саха (Якутия)",
        ("Asia/Yakutsk", "Asia/Khandyga", "Asia/Ust-Nera", "Asia/Srednekolymsk"),
        ("Якутия", "Саха", "Республика Якутия"),
        city_zones=(
            *((city, "Asia/Yakutsk") for city in ("Якутск", "Мирный", "Нерюнгри", "Алдан")),
            *((city, "Asia/Yakutsk") for city in ("Ленск", "Вилюйск", "Олёкминск", "Покровск")),
            *((city, "Asia/Yakutsk") for city in ("Удачный", "Айхал", "Тикси", "Нюрба")),
            ("Хандыга", "Asia/Khandyga"),
            ("Усть-Мая", "Asia/Khandyga"),
            *((city, "Asia/Ust-Nera") for city in ("Усть-Нера", "Оймякон", "Томтор")),
            *((city, "Asia/Ust-Nera") for city in ("Верхоянск", "Батагай", "Депутатский")),
            *((city, "Asia/Srednekolymsk") for city in ("Среднеколымск", "Черский")),
            *((city, "Asia/Srednekolymsk") for city in ("Зырянка", "Чокурдах", "Белая Гора")),
        ),
    ),
    _r(
        "Республика Северная Осетия — Алания",
        MOSCOW,
        "Северная Осетия",
        "Алания",
        "РСО-Алания",
        cities=("Владикавказ",),
    ),
    _r("Республика Татарстан", MOSCOW, "Татария", cities=("Казань", "Набережные Челны")),
    _r("Республика Тыва", KRASNOYARSK, "Тува", cities=("Кызыл",)),
    _r("Удмуртская Республика", "Europe/Samara", "Удмуртия", cities=("Ижевск",)),
    _r("Республика Хакасия", KRASNOYARSK, cities=("Абакан",)),
    _r("Чеченская Республика", MOSCOW, "Чечня", cities=("Грозный",)),
    _r(
        "Чувашская Республика — Чувашия",
        MOSCOW,
        "Чувашия",
        "Чувашская Республика",
        cities=("Чебоксары",),
    ),
    # krais
    _r("Алтайский край", "Asia/Barnaul", cities=("Барнаул", "Бийск")),
    _r("Забайкальский край", "Asia/Chita", "Забайкалье", cities=("Чита",)),
    _r("Камчатский край", "Asia/Kamchatka", "Камчатка", cities=("Петропавловск-Камчатский",)),
    _r("Краснодарский край", MOSCOW, "Кубань", cities=("Краснодар", "Сочи", "Новороссийск")),
    _r("Красноярский край", KRASNOYARSK, cities=("Красноярск", "Норильск")),
    _r("Пермский край", YEKATERINBURG, "Прикамье", cities=("Пермь",)),
    _r("Приморский край", VLADIVOSTOK, "Приморье", cities=("Владивосток", "Находка")),
    _r("Ставропольский край", MOSCOW, "Ставрополье", cities=("Ставрополь", "Пятигорск")),
    _r("Хабаровский край", VLADIVOSTOK, cities=("Хабаровск", "Комсомольск-на-Амуре")),
    # oblasts
    _r("Амурская область", "Asia/Yakutsk", cities=("Благовещенск",)),
    _r("Архангельская область", MOSCOW, cities=("Архангельск", "Северодвинск")),
    _r("Астраханская область", "Europe/Astrakhan", cities=("Астрахань",)),
    _r("Белгородская область", MOSCOW, cities=("Белгород",)),
    _r("Брянская область", MOSCOW, cities=("Брянск",)),
    _r("Владимирская область", MOSCOW, cities=("Владимир",)),
    _r("Волгоградская область", "Europe/Volgograd", cities=("Волгоград", "Волжский")),
    _r("Вологодская область", MOSCOW, cities=("Вологда", "Череповец")),
    _r("Воронежская область", MOSCOW, cities=("Воронеж",)),
    _r("Ивановская область", MOSCOW, cities=("Иваново",)),
    _r("Иркутская область", "Asia/Irkutsk", cities=("Иркутск", "Братск", "Ангарск")),
    _r("Калининградская область", "Europe/Kaliningrad", cities=("Калининград",)),
    _r("Калужская область", MOSCOW, cities=("Калуга", "Обнинск")),
    _r(
        "Кемеровская область — Кузбасс",
        "Asia/Novokuznetsk",
        "Кузбасс",
        "Кемеровская область",
        cities=("Кемерово", "Новокузнецк"),
    ),
    _r("Кировская область", "Europe/Kirov", cities=("Киров",)),
    _r("Костромская область", MOSCOW, cities=("Кострома",)),
    _r("Курганская область", YEKATERINBURG, cities=("Курган",)),
    _r("Курская область", MOSCOW, cities=("Курск",)),
    _r("Ленинградская область", MOSCOW, cities=("Гатчина", "Выборг")),
    _r("Липецкая область", MOSCOW, cities=("Липецк",)),
    _r("Магаданская область", "Asia/Magadan", cities=("Магадан",)),
    _r("Московская область", MOSCOW, "Подмосковье", cities=("Балашиха", "Подольск", "Химки")),
    _r("Мурманская область", MOSCOW, cities=("Мурманск",)),
    _r("Нижегородская область", MOSCOW, cities=("Нижний Новгород", "Дзержинск")),
    _r("Новгородская область", MOSCOW, cities=("Великий Новгород",)),
    _r("Новосибирская область", "Asia/Novosibirsk", cities=("Новосибирск",)),
    _r("Омская область", "Asia/Omsk", cities=("Омск",)),
    _r("Оренбургская область", YEKATERINBURG, cities=("Оренбург", "Орск")),
    _r("Орловская область", MOSCOW, cities=("Орёл",)),
    _r("Пензенская область", MOSCOW, cities=("Пенза",)),
    _r("Псковская область", MOSCOW, cities=("Псков",)),
    _r("Ростовская область", MOSCOW, cities=("Ростов-на-Дону", "Таганрог", "Шахты")),
    _r("Рязанская область", MOSCOW, cities=("Рязань",)),
    _r("Самарская область", "Europe/Samara", cities=("Самара", "Тольятти", "Сызрань")),
    _r("Саратовская область", "Europe/Saratov", cities=("Саратов", "Энгельс", "Балаково")),
    Region(
        "Сахалинская область",
        ("Asia/Sakhalin", "Asia/Srednekolymsk"),
        ("Сахалин",),
        city_zones=(
            *((city, "Asia/Sakhalin") for city in ("Южно-Сахалинск", "Корсаков", "Холмск")),
            *((city, "Asia/Sakhalin") for city in ("Оха", "Курильск", "Южно-Курильск")),
            ("Северо-Курильск", "Asia/Srednekolymsk"),
        ),
    ),
    _r("Свердловская область", YEKATERINBURG, cities=("Екатеринбург", "Нижний Тагил")),
    _r("Смоленская область", MOSCOW, cities=("Смоленск",)),
    _r("Тамбовская область", MOSCOW, cities=("Тамбов",)),
    _r("Тверская область", MOSCOW, cities=("Тверь",)),
    _r("Томская область", "Asia/Tomsk", cities=("Томск", "Северск")),
    _r("Тульская область", MOSCOW, cities=("Тула",)),
    _r("Тюменская область", YEKATERINBURG, cities=("Тюмень", "Тобольск")),
    _r("Ульяновская область", "Europe/Ulyanovsk", cities=("Ульяновск", "Димитровград")),
    _r("Челябинская область", YEKATERINBURG, cities=("Челябинск", "Магнитогорск")),
    _r("Ярославская область", MOSCOW, cities=("Ярославль", "Рыбинск")),
    # cities of federal significance
    _r("Москва", MOSCOW, "Зеленоград"),
    _r("Санкт-Петербург", MOSCOW, "Петербург", "СПб", "Питер"),
    _r("Севастополь", "Europe/Simferopol"),
    # autonomous oblast and okrugs
    _r("Еврейская автономная область", VLADIVOSTOK, "ЕАО", cities=("Биробиджан",)),
    _r("Ненецкий автономный округ", MOSCOW, "НАО", cities=("Нарьян-Мар",)),
    _r(
        "Ханты-Мансийский автономный округ — Югра",
        YEKATERINBURG,
        "ХМАО",
        "ХМАО-Югра",
        "Югра",
        "Ханты-Мансийский автономный округ",
        cities=("Ханты-Мансийск", "Сургут", "Нижневартовск", "Нефтеюганск"),
    ),
    _r("Чукотский автономный округ", "Asia/Anadyr", "Чукотка", cities=("Анадырь",)),
    _r(
        "Ямало-Ненецкий автономный округ",
        YEKATERINBURG,
        "ЯНАО",
        "Ямал",
        cities=("Салехард", "Новый Уренгой", "Ноябрьск"),
    ),
)

_BOTH_CLOCKS = ("Europe/Moscow", "Europe/Kyiv")

CONTESTED_REGIONS: tuple[Region, ...] = (
    Region("Донецкая Народная Республика", _BOTH_CLOCKS, ("ДНР", "Донецкая область")),
    Region("Луганская Народная Республика", _BOTH_CLOCKS, ("ЛНР", "Луганская область")),
    Region("Запорожская область", _BOTH_CLOCKS),
    Region("Херсонская область", _BOTH_CLOCKS),
)

KAZAKH_REGIONS: tuple[Region, ...] = (
    _r("Астана", ALMATY, "Нур-Султан", "Акмола"),
    _r("Алматы", ALMATY, "Алма-Ата"),
    _r("Шымкент", ALMATY, "Чимкент"),
    _r("область Абай", ALMATY, "Абайская область", cities=("Семей", "Семипалатинск")),
    _r("Акмолинская область", ALMATY, cities=("Кокшетау",)),
    _r("Актюбинская область", "Asia/Aqtobe", cities=("Актобе", "Актюбинск")),
    _r("Алматинская область", ALMATY, cities=("Конаев", "Капчагай")),
    _r("Атырауская область", "Asia/Atyrau", cities=("Атырау",)),
    _r("Восточно-Казахстанская область", ALMATY, "ВКО", cities=("Усть-Каменогорск", "Өскемен")),
    _r("Жамбылская область", ALMATY, cities=("Тараз",)),
    _r("область Жетісу", ALMATY, "Жетысуская область", "Жетысу", cities=("Талдыкорган",)),
    _r("Западно-Казахстанская область", "Asia/Oral", "ЗКО", cities=("Уральск", "Орал")),
    _r("Карагандинская область", ALMATY, cities=("Караганда", "Темиртау")),
    _r("Костанайская область", "Asia/Qostanay", "Кустанайская область", cities=("Костанай",)),
    _r("Кызылординская область", "Asia/Qyzylorda", cities=("Кызылорда",)),
    _r("Мангистауская область", "Asia/Aqtau", "Мангыстауская область", cities=("Актау",)),
    _r("Павлодарская область", ALMATY, cities=("Павлодар", "Экибастуз")),
    _r("Северо-Казахстанская область", ALMATY, "СКО", cities=("Петропавловск",)),
    _r("Туркестанская область", ALMATY, "Южно-Казахстанская область", "ЮКО", cities=("Туркестан",)),
    _r("область Ұлытау", ALMATY, "Улытауская область", cities=("Жезказган",)),
)

ALL_REGIONS: tuple[Region, ...] = RUSSIAN_SUBJECTS + CONTESTED_REGIONS + KAZAKH_REGIONS
