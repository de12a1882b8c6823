"""The Refugees Welcome campaign as it launched: created once, never duplicated."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask import current_app
from sqlalchemy import select

from petition.extensions import db
from petition.models import Article, ArticleState, Campaign, Petition, PetitionState, utcnow
from petition.services.consent import current_wording

CAMPAIGN_SLUG = "refugees-welcome"
PETITION_SLUG = "help-ukraine-refugees"
ARTICLE_SLUG = "krasnodar-riot-police-sue-over-dismissal"

CAMPAIGN = {
    "slug": CAMPAIGN_SLUG,
    "name": "Refugees Welcome",
    "tagline": "Standing with people forced from their homes since 2015.",
    "intro": (
        "We started Refugees Welcome in 2015, when families escaping the war in Syria were "
        "crossing Europe on foot. In 2022, as millions of people left Ukraine after the Russian "
        "invasion, we brought the campaign back. Add your name to our petition and pass it "
        "on to the people you know."
    ),
    "history": (
        "Our newspaper has a long record of speaking up for people with the least power to "
        "speak for themselves. Refugees Welcome first ran during the Syrian war in 2015. We "
        "have renewed it for the war in Ukraine, and this time we are asking the government "
        "to act with more ambition and more urgency so that help actually arrives."
    ),
    "translations": {
        "uk": {
            "tagline": "Поруч із людьми, яких змусили покинути дім, — від 2015 року.",
            "intro": (
                "Ми започаткували Refugees Welcome 2015 року, коли родини, що тікали від війни в "
                "Сирії, пішки перетинали Європу. 2022 року, коли після російського вторгнення "
                "мільйони людей виїхали з України, ми відновили кампанію. Додайте своє ім'я до "
                "нашої петиції й розкажіть про неї знайомим."
            ),
            "history": (
                "Наша газета давно підносить голос за тих, кому найважче бути почутими. Уперше "
                "Refugees Welcome тривала під час війни в Сирії, 2015 року. Ми відновили її "
                "через війну в Україні — і цього разу просимо уряд діяти сміливіше й швидше, "
                "щоб допомога справді доходила до людей."
            ),
        }
    },
}

PETITION = {
    "slug": PETITION_SLUG,
    "title": "Go further and faster to help people fleeing the war in Ukraine",
    "ask": (
        "We are asking the government to go further, and move faster, to make sure help gets "
        "to people who have fled the war in Ukraine: fewer obstacles for those seeking safety "
        "here, quicker decisions, and support that reaches them when they need it, not months "
        "later."
    ),
    "background": (
        "Since Russian forces crossed into Ukraine in February 2022, millions of people have "
        "left their homes. Our Refugees Welcome campaign, first launched in 2015 for people "
        "escaping the war in Syria, is back. Every signature adds weight when we take this "
        "petition to the government."
    ),
    "goal": 10_000,
    "addressee": "The UK government",
    "starter": "The Refugees Welcome campaign team",
    "thresholds": [
        {"count": 10_000, "text": "We hand the petition to the Home Office and ask for a reply"},
        {"count": 100_000, "text": "We ask MPs to debate it in Parliament"},
    ],
    # For the people the campaign is about, and their families here: written for Ukrainian
    # readers, not word for word.
    "translations": {
        "uk": {
            "title": "Більше й швидше допомагати людям, які рятуються від війни в Україні",
            "ask": (
                "Ми закликаємо уряд робити більше й діяти швидше, щоб допомога справді доходила "
                "до людей, які врятувалися від війни в Україні: менше перепон для тих, хто шукає "
                "тут прихистку, швидші рішення й підтримка тоді, коли вона потрібна, а не за "
                "кілька місяців."
            ),
            "background": (
                "Відтоді як у лютому 2022 року російські війська вдерлися в Україну, мільйони "
                "людей залишили свої домівки. Наша кампанія Refugees Welcome («Біженцям раді»), "
                "яку ми вперше започаткували 2015 року для тих, хто тікав від війни в Сирії, "
                "повертається. Кожен підпис додає ваги, коли ми передамо цю петицію уряду."
            ),
            "addressee": "Уряд Великої Британії",
            "starter": "Команда кампанії Refugees Welcome",
            "thresholds": (
                "10,000: Ми передамо петицію до Міністерства внутрішніх справ і попросимо "
                "відповіді\n100,000: Ми попросимо депутатів обговорити її в парламенті"
            ),
        }
    },
}


# The story the campaign relaunched with, summarised in our own words. The full report was
# published by The Independent in March 2022 (syndicated at the address below).
ARTICLE = {
    "slug": ARTICLE_SLUG,
    "headline": (
        "Twelve Russian riot police sacked for refusing to enter Ukraine take their bosses to court"
    ),
    "standfirst": (
        "Officers from an Omon unit in Krasnodar say the order to cross the border on 25 February "
        "was unlawful. They lost their jobs for saying no, and now want them back."
    ),
    "key_points": [
        "Twelve members of an Omon riot police unit from Russia's Krasnodar region, part of the "
        "Rosgvardia national guard, would not obey their commander when told to cross into "
        "Ukraine on 25 February 2022, the day after Vladimir Putin launched his invasion.",
        "The unit had been sent to Crimea for what it took to be a training exercise. After the "
        "refusal the officers were returned to Krasnodar and dismissed; they have gone to court "
        "to be reinstated.",
        "They argue the order was illegal: no one carried a passport, their duties end at "
        "Russia's border, and nobody explained the aims of the so-called special military "
        "operation. Human rights lawyer Pavel Chikov says they had every right to refuse, and "
        "that crossing a state border unlawfully is itself a crime under Article 322 of Russia's "
        "criminal code.",
        "Mikhail Benyash, who represents them, says the men wanted neither to kill nor to die, "
        "and that police trained for batons and shields are no match for a regular army.",
        "British defence intelligence judged in mid-March that Russia's advance had largely "
        "stalled, with troops short of food and fuel; Nato estimated that as many as 15,000 "
        "Russian soldiers had died in the first month, roughly Moscow's toll from ten years in "
        "Afghanistan.",
    ],
    "share_description": (
        "Twelve Krasnodar riot police refused to cross into Ukraine on 25 February 2022. Sacked, "
        "they are suing to get their jobs back."
    ),
    "source_url": "https://uk.news.yahoo.com/russian-riot-police-rebelled-against-135316264.html",
    "publisher": "The Independent",
    # After the 17 March intelligence update and Nato's one-month estimate that it reports.
    "published_on": date(2022, 3, 24),
    # The same facts told for Ukrainian readers, not translated line by line.
    "translations": {
        "uk": {
            "headline": (
                "Дванадцятеро російських омонівців, звільнених за відмову їхати в Україну, "
                "судяться з начальством"
            ),
            "standfirst": (
                "Бійці ОМОНу з Краснодара кажуть, що наказ 25 лютого перетнути кордон був "
                "незаконним. За відмову їх звільнили, і тепер вони хочуть повернутися на службу."
            ),
            "key_points": [
                "Дванадцятеро бійців ОМОНу Росгвардії з Краснодарського краю відмовилися "
                "виконати наказ командира й заїхати в Україну 25 лютого 2022 року — наступного "
                "дня після того, як Володимир Путін розпочав вторгнення.",
                "Підрозділ відправили до Криму нібито на навчання. Після відмови бійців повернули "
                "до Краснодара й звільнили; тепер вони через суд домагаються поновлення.",
                "Наказ вони вважають незаконним: ні в кого не було закордонного паспорта, їхні "
                "обов'язки обмежуються територією Росії, а цілей так званої «спеціальної "
                "військової операції» їм ніхто не пояснив. Правозахисник Павло Чиков каже, що "
                "вони мали повне право відмовитися і що незаконне перетинання державного кордону "
                "саме по собі є злочином за статтею 322 Кримінального кодексу Росії.",
                "Їхній адвокат Михайло Беняш каже, що вони не хотіли ні вбивати, ні вмирати, а "
                "поліцейські, навчені працювати з кийками й щитами, не рівня регулярній армії.",
                "У середині березня британська воєнна розвідка дійшла висновку, що наступ Росії "
                "здебільшого застопорився, а військам бракує їжі й пального; за оцінкою НАТО, за "
                "перший місяць загинуло до 15 000 російських військових — приблизно стільки, "
                "скільки Москва втратила за десять років в Афганістані.",
            ],
            "share_description": (
                "12 омонівців із Краснодара відмовилися 25 лютого 2022 року заїжджати в Україну. "
                "Їх звільнили, і тепер вони судяться, щоб повернутися на службу."
            ),
        }
    },
}


@dataclass
class SeedReport:
    created: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return "created " + ", ".join(self.created) if self.created else "nothing to do"


def seed() -> SeedReport:
    """Create whatever part of the seed data is missing; running it again changes nothing."""
    report = SeedReport()
    current_wording()
    campaign = db.session.scalar(select(Campaign).where(Campaign.slug == CAMPAIGN_SLUG))
    if campaign is None:
        gofundme = current_app.config["GOFUNDME_URL"] or None
        campaign = Campaign(**CAMPAIGN, gofundme_url=gofundme)
        db.session.add(campaign)
        report.created.append(f"campaign {CAMPAIGN_SLUG}")
    petition = db.session.scalar(select(Petition).where(Petition.slug == PETITION_SLUG))
    if petition is None:
        petition = Petition(
            **PETITION, campaign=campaign, state=PetitionState.OPEN, opens_at=utcnow()
        )
        db.session.add(petition)
        report.created.append(f"petition {PETITION_SLUG}")
    if db.session.scalar(select(Article.id).where(Article.slug == ARTICLE_SLUG)) is None:
        db.session.add(Article(**ARTICLE, petition=petition, state=ArticleState.PUBLISHED))
        report.created.append(f"article {ARTICLE_SLUG}")
    db.session.commit()
    return report
