"""Demo leads and referrals, made through the services as real use would make them:
leads of every unit's account managers in every status (some converted into the demo
customers they turn out to be), territories and assignment rules for 华夏制造 and 华夏金融
with leads their rules assigned, and referrals between the units — accepted (one of them
won, so its revenue split is credited), pending and declined."""

from __future__ import annotations

import random
from decimal import Decimal

from django.db import transaction

from groupcrm.core.actor import Actor
from groupcrm.core.errors import DomainError
from groupcrm.customers.models import Customer
from groupcrm.org.demo import DEMO_USERS
from groupcrm.org.models import BusinessUnit, User
from groupcrm.sales.leads import assignment, referrals, services
from groupcrm.sales.leads.models import Lead
from groupcrm.sales.models import Opportunity, Stage
from groupcrm.sales.services import opportunity_move

COMPANIES = [
    "苏州星河精密机械有限公司",
    "宁波东海新材料有限公司",
    "合肥庐阳智能装备有限公司",
    "无锡太湖半导体科技有限公司",
    "佛山顺德家电配件有限公司",
    "东莞长安模具有限公司",
    "厦门鹭岛进出口贸易有限公司",
    "南京江宁汽车零部件有限公司",
    "杭州西溪数字科技有限公司",
    "成都天府云计算有限公司",
    "武汉光谷光电子有限公司",
    "青岛海湾化工有限公司",
    "郑州中原冷链物流有限公司",
    "长沙麓谷工程机械有限公司",
    "西安高新电子信息有限公司",
    "天津滨海港口物流有限公司",
    "重庆两江新能源汽车有限公司",
    "昆明滇池生物医药有限公司",
]
PLACES = [
    ("上海市", "上海市", "34"),
    ("江苏省", "苏州市", "35"),
    ("浙江省", "杭州市", "65"),
    ("广东省", "深圳市", "39"),
    ("广东省", "佛山市", "38"),
    ("福建省", "厦门市", "51"),
    ("四川省", "成都市", "64"),
    ("湖北省", "武汉市", "39"),
    ("山东省", "青岛市", "26"),
]
CONTACTS = ["王经理", "李总", "张工", "刘主任", "陈总监", "杨经理", "赵工", "黄总"]
DISQUALIFY_REASONS = ["无采购预算", "已与竞品签约", "联系不上", "需求不匹配"]
# The units whose account managers capture leads (demo unit codes).
CAPTURING_ROLES = ("account_manager",)


def _user(username: str) -> User:
    return User.objects.get(username=username)


def _unit(code: str) -> BusinessUnit:
    return BusinessUnit.objects.get(code=code)


def _phone(rng: random.Random) -> str:
    return f"{rng.choice(['138', '139', '158', '186', '189'])}{rng.randrange(10**7, 10**8)}"


def load_leads(*, rng_seed: int = 2026) -> dict[str, int]:
    rng = random.Random(rng_seed)
    counts = {"leads": 0, "converted": 0, "territories": 0, "rules": 0, "referrals": 0}
    with transaction.atomic():
        _rules(counts)
        for demo in DEMO_USERS:
            if demo.role in CAPTURING_ROLES:
                _leads_of(rng, Actor(_user(demo.username)), _unit(demo.unit), counts)
        for manager, unit in (("liqiang", "hx-mfg"), ("huangmin", "hx-fin")):
            actor = Actor(_user(manager))
            for _n in range(4):
                province, city, industry = rng.choice(PLACES)
                services.lead_create(
                    actor=actor,
                    bu_id=_unit(unit).pk,
                    company_name=f"{rng.choice(COMPANIES)[:-6]}{rng.randrange(100, 999)}有限公司",
                    contact_name=rng.choice(CONTACTS),
                    phone=_phone(rng),
                    province=province,
                    city=city,
                    industry=industry,
                    source=Lead.Source.WEB,
                )
                counts["leads"] += 1
        _referrals(rng, counts)
    return counts


def _rules(counts: dict[str, int]) -> None:
    mfg, fin = _unit("hx-mfg"), _unit("hx-fin")
    liqiang, huangmin = Actor(_user("liqiang")), Actor(_user("huangmin"))
    east = assignment.territory_create(
        actor=liqiang,
        bu_id=mfg.pk,
        name="华东制造业",
        provinces=["上海市", "江苏省", "浙江省"],
        industries=["C"],
    )
    south = assignment.territory_create(
        actor=liqiang, bu_id=mfg.pk, name="华南", provinces=["广东省", "福建省"]
    )
    assignment.rule_create(
        actor=liqiang,
        bu_id=mfg.pk,
        name="华东线索",
        kind="territory",
        territory_id=east.pk,
        member_ids=[_user("zhangwei").pk, _user("liuyang").pk, _user("qianyi").pk],
    )
    assignment.rule_create(
        actor=liqiang,
        bu_id=mfg.pk,
        name="华南线索",
        kind="territory",
        territory_id=south.pk,
        member_ids=[_user("wangfang").pk],
    )
    corp = assignment.territory_create(
        actor=huangmin, bu_id=fin.pk, name="全国企业金融", provinces=[], industries=["C", "F", "G"]
    )
    assignment.rule_create(
        actor=huangmin,
        bu_id=fin.pk,
        name="企业客户",
        kind="territory",
        territory_id=corp.pk,
        member_ids=[_user("zhengshuang").pk],
    )
    assignment.rule_create(
        actor=huangmin,
        bu_id=fin.pk,
        name="其余轮流",
        kind="round_robin",
        member_ids=[_user("zhengshuang").pk, _user("fengyan").pk],
    )
    counts["territories"] += 3
    counts["rules"] += 4


def _leads_of(rng: random.Random, actor: Actor, unit: BusinessUnit, counts: dict[str, int]) -> None:
    """Six leads of one account manager: new, working, qualified, disqualified, one
    converted into the existing demo customer it turns out to be, one spare."""
    statuses = ["new", "working", "qualified", "disqualified", "converted", "working"]
    ids = list(
        Customer.objects.filter(status=Customer.Status.ACTIVE, uscc__isnull=False)
        .order_by("pk")
        .values_list("pk", flat=True)[:500]
    )
    existing = [Customer.objects.get(pk=rng.choice(ids))] if ids else []
    for status in statuses:
        province, city, industry = rng.choice(PLACES)
        company = rng.choice(COMPANIES)
        uscc = ""
        if status == "converted" and existing:
            company, uscc = existing[0].legal_name, existing[0].uscc or ""
        lead = services.lead_create(
            actor=actor,
            bu_id=unit.pk,
            company_name=company,
            uscc=uscc,
            contact_name=rng.choice(CONTACTS),
            phone=_phone(rng),
            email=f"contact{rng.randrange(1000, 9999)}@example.com",
            province=province,
            city=city,
            industry=industry,
            source=rng.choice([Lead.Source.FORM, Lead.Source.WEB, Lead.Source.IMPORT]),
        )
        counts["leads"] += 1
        if status in ("working", "qualified"):
            services.lead_set_status(actor=actor, pk=lead.pk, status=status)
        elif status == "disqualified":
            services.lead_set_status(
                actor=actor, pk=lead.pk, status=status, reason=rng.choice(DISQUALIFY_REASONS)
            )
        elif status == "converted" and uscc:
            try:
                with transaction.atomic():
                    services.lead_convert(actor=actor, pk=lead.pk)
            except DomainError:  # e.g. the owner already holds the unit's maximum
                continue
            counts["converted"] += 1


def _open_opportunities(unit_code: str) -> list[Opportunity]:
    unit = _unit(unit_code)
    return list(
        Opportunity.objects.filter(
            status=Opportunity.Status.OPEN, bu__path__startswith=unit.path, referrals__isnull=True
        )
        .select_related("owner", "bu")
        .order_by("pk")[:40]
    )


def _referrals(rng: random.Random, counts: dict[str, int]) -> None:
    """mfg → fin: two accepted (one then won), one pending, one declined; fin → mfg: a
    lead accepted."""
    # Referred to the teams where the account managers sit, who then own the items.
    fin, mfg = _unit("hx-fin-corp"), _unit("hx-mfg-east-sh")
    huangmin = Actor(_user("huangmin"))
    candidates = [
        o for o in _open_opportunities("hx-mfg") if Actor(o.owner).can("referrals", "create")
    ]
    plans = ["won", "accepted", "pending", "declined"]
    for opportunity, plan in zip(candidates, plans, strict=False):
        referral = referrals.referral_create(
            actor=Actor(opportunity.owner),
            opportunity_id=opportunity.pk,
            to_bu_id=fin.pk,
            referrer_percent=Decimal(rng.choice([10, 15, 20, 25])),
            note="客户有融资需求，请金融同事跟进",
        )
        counts["referrals"] += 1
        if plan == "declined":
            referrals.referral_decline(
                actor=huangmin, pk=referral.pk, reason="客户资质暂不满足授信要求"
            )
        elif plan in ("won", "accepted"):
            referrals.referral_accept(
                actor=huangmin, pk=referral.pk, owner_id=_user("zhengshuang").pk
            )
            if plan == "won":
                _win(opportunity.pk)
    lead = services.lead_create(
        actor=Actor(_user("fengyan")),
        bu_id=_unit("hx-fin-corp").pk,
        company_name="嘉兴南湖智能制造有限公司",
        contact_name="沈总",
        phone="13957300001",
        province="浙江省",
        city="嘉兴市",
        industry="34",
        source=Lead.Source.FORM,
    )
    counts["leads"] += 1
    referral = referrals.referral_create(
        actor=Actor(_user("fengyan")),
        lead_id=lead.pk,
        to_bu_id=mfg.pk,
        referrer_percent=Decimal("10"),
        note="客户要建新产线，适合制造板块",
    )
    referrals.referral_accept(
        actor=Actor(_user("liqiang")), pk=referral.pk, owner_id=_user("zhangwei").pk
    )
    counts["referrals"] += 1


def _win(pk: int) -> None:
    """The fin owner wins the referred opportunity: its split credits both units."""
    opportunity = Opportunity.objects.get(pk=pk)
    won = Stage.objects.get(pipeline=opportunity.pipeline, outcome=Stage.Outcome.WON)
    opportunity_move(
        actor=Actor(opportunity.owner), pk=pk, stage_id=won.pk, version=opportunity.version
    )
