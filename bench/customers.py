# ruff: noqa: E402  (Django is configured before the app's modules are imported)
"""Benchmark of the customer master at scale: search and the 360° view.

Builds its own PostgreSQL database (``groupcrm_bench``), fills it with a generated group
customer base through COPY, then measures the app's search and 360° view with concurrent
clients, each next to the hand-written SQL a person would use for the same result.
See docs/performance.md for what is measured and the figures.

    .venv/bin/python bench/customers.py                        # 1M / 3M / 10M rows
    .venv/bin/python bench/customers.py --customers 20000 --contacts 60000 --followups 200000
    .venv/bin/python bench/customers.py --reuse                # measure again, keep the data

Generated rows are what the services would write: the service's own ``_derive`` (keys,
拼音, region, data quality) and ``search.document``, PII encrypted with ``core.pii``
and found through its blind index, materialised paths, relationships whose
``last_followup_at`` is their latest follow-up. Only the audit trail and the outbox are
left empty (see docs/performance.md).
"""

from __future__ import annotations

import argparse
import atexit
import base64
import collections
import contextlib
import datetime as dt
import hashlib
import itertools
import json
import math
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/groupcrm_bench"
)


def _bench_key(label: str) -> str:
    """A fixed key for benchmark data only: a re-run (``--reuse``) must decrypt the rows and
    find them by blind index, so keys cannot be random per run."""
    digest = hashlib.sha256(f"groupcrm benchmark {label}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii")


_VAR_DIR = tempfile.mkdtemp(prefix="groupcrm-bench-")
_MAIN_PID = os.getpid()


@atexit.register
def _remove_var_dir() -> None:
    if os.getpid() == _MAIN_PID:
        shutil.rmtree(_VAR_DIR, ignore_errors=True)


os.environ.update(
    DJANGO_SETTINGS_MODULE="groupcrm.settings",
    DATABASE_URL=DATABASE_URL,
    GROUPCRM_VAR_DIR=_VAR_DIR,
    SECRET_KEY=_bench_key("secret key"),
    GROUPCRM_FIELD_KEYS=_bench_key("field key"),
    GROUPCRM_INDEX_KEY=_bench_key("blind index key"),
    LOG_LEVEL="WARNING",
)

import django

django.setup()

from django.conf import settings
from django.core.management import call_command
from django.core.paginator import Paginator
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from pypinyin import lazy_pinyin

from groupcrm.core import pii
from groupcrm.core.actor import Actor
from groupcrm.core.ui import PAGE_SIZE
from groupcrm.customers import search, services
from groupcrm.customers.models import Contact, Customer
from groupcrm.customers.normalize import (
    make_uscc,
    name_pinyin,
    normalize_email,
    normalize_phone,
    parse_region,
)
from groupcrm.customers.reference import is_industry
from groupcrm.customers.search import search_ids
from groupcrm.customers.selectors import CustomerFilters, customer_list, view360
from groupcrm.org.models import BusinessUnit, User
from groupcrm.org.services import bu_create, role_create, user_create

# =============================================================================================
# Vocabulary of the generated data
# =============================================================================================

#: Characters of 字号 (trade names), most frequent first: 华夏 is the most common name.
BRAND_FIRST = (
    "华中东恒鑫宏金泰海天瑞永安德信博创新嘉和祥隆昌福明光辉腾飞"
    "长联众诚万利宝润汇聚锦星云峰立凯美康益佳成正宇航鼎亿盛"
)
BRAND_SECOND = (
    "夏兴方通源达远泰丰盛信德海华恒昌瑞祥隆鑫宏利安康美佳成和诚"
    "合润泽晟辉光明威豪伟坤鼎程辰宇航星云峰科创智"
)
ZIPF_EXPONENT = 0.8

#: (term in the name, GB/T 4754 division, relative frequency)
INDUSTRIES: tuple[tuple[str, str, int], ...] = (
    ("制造", "34", 12),
    ("科技", "65", 12),
    ("贸易", "51", 8),
    ("物流", "58", 6),
    ("电子", "39", 5),
    ("机械", "34", 5),
    ("建设", "48", 5),
    ("医药", "27", 3),
    ("食品", "14", 3),
    ("化工", "26", 3),
    ("能源", "44", 3),
    ("环保", "77", 2),
    ("纺织", "17", 2),
    ("投资", "72", 3),
    ("咨询", "72", 3),
    ("软件", "65", 3),
    ("电气", "38", 3),
    ("工程", "48", 3),
    ("建材", "30", 2),
    ("包装", "22", 1),
    ("光电", "39", 1),
    ("实业", "", 4),
    ("商贸", "51", 4),
    ("信息技术", "65", 4),
    ("新材料", "30", 2),
    ("餐饮管理", "62", 2),
    ("房地产开发", "70", 2),
    ("农业发展", "01", 2),
    ("文化传媒", "87", 2),
    ("网络科技", "64", 3),
    ("供应链管理", "72", 2),
    ("精密机械", "34", 1),
    ("生物科技", "27", 2),
    ("新能源", "44", 2),
    ("汽车零部件", "36", 1),
)

#: (short name, province, city, district) of the places in names and addresses.
PLACES: tuple[tuple[str, str, str, str], ...] = (
    ("北京", "北京市", "北京市", "海淀区"),
    ("上海", "上海市", "上海市", "浦东新区"),
    ("广州", "广东省", "广州市", "天河区"),
    ("深圳", "广东省", "深圳市", "南山区"),
    ("杭州", "浙江省", "杭州市", "西湖区"),
    ("苏州", "江苏省", "苏州市", "虎丘区"),
    ("南京", "江苏省", "南京市", "鼓楼区"),
    ("成都", "四川省", "成都市", "武侯区"),
    ("武汉", "湖北省", "武汉市", "武昌区"),
    ("西安", "陕西省", "西安市", "雁塔区"),
    ("重庆", "重庆市", "重庆市", "渝中区"),
    ("天津", "天津市", "天津市", "滨海新区"),
    ("青岛", "山东省", "青岛市", "市南区"),
    ("长沙", "湖南省", "长沙市", "岳麓区"),
    ("福州", "福建省", "福州市", "鼓楼区"),
    ("厦门", "福建省", "厦门市", "思明区"),
    ("宁波", "浙江省", "宁波市", "鄞州区"),
    ("无锡", "江苏省", "无锡市", "滨湖区"),
    ("郑州", "河南省", "郑州市", "金水区"),
    ("济南", "山东省", "济南市", "历下区"),
    ("合肥", "安徽省", "合肥市", "蜀山区"),
    ("佛山", "广东省", "佛山市", "南海区"),
    ("沈阳", "辽宁省", "沈阳市", "和平区"),
    ("昆明", "云南省", "昆明市", "五华区"),
    ("南昌", "江西省", "南昌市", "东湖区"),
    ("长春", "吉林省", "长春市", "朝阳区"),
)
ROADS = ("建设路", "科技路", "创业路", "工业大道", "世纪大道", "新华路", "解放路", "学府路")

#: (legal name pattern, legal form, weight) of companies outside a group.
STANDALONE_FORMS: tuple[tuple[str, str, int], ...] = (
    ("{place}{brand}{trade}有限公司", "llc", 40),
    ("{brand}{trade}({place})有限公司", "llc", 10),
    ("{brand}{trade}股份有限公司", "joint_stock", 10),
    ("{place}{brand}{trade}有限责任公司", "llc", 10),
    ("{brand}{trade}有限公司", "llc", 20),
    ("{place}{brand}{trade}股份有限公司", "joint_stock", 5),
    ("{brand}{trade}集团有限公司", "llc", 5),
)
ROOT_FORMS: tuple[tuple[str, str, int], ...] = (
    ("{brand}{trade}集团有限公司", "llc", 60),
    ("{brand}{trade}集团股份有限公司", "joint_stock", 20),
    ("{brand}{trade}股份有限公司", "joint_stock", 20),
)
#: Size of a customer group (root and everything below it): (smallest, largest, weight).
GROUP_SIZES = ((2, 5, 600), (6, 20, 300), (21, 100, 80), (101, 500, 18), (501, 1000, 2))
GROUP_SHARE = 0.10  # of customers in a group of depth 1–4
MAX_DEPTH_WEIGHTS = (40, 30, 20, 10)  # depth 1, 2, 3, 4

SURNAMES = (  # most frequent first
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖"
    "田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付"
    "方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴莫孔汤"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华玉萍红建国文斌宇浩"
    "凯鹏飞辉志晨阳欣怡子涵梓轩一诺雨佳琪思远俊海波宁丹慧琳雪婷颖鑫博睿"
)
TITLES = ("总经理", "副总经理", "采购经理", "采购专员", "技术总监", "工程师", "财务总监")
TITLES += ("行政主管", "销售总监", "项目经理", "董事长", "总经理助理", "")
DEPARTMENTS = ("总经办", "采购部", "技术部", "财务部", "行政部", "生产部", "研发部", "市场部", "")
MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "150")
MOBILE_PREFIXES += ("151", "152", "155", "156", "157", "158", "159", "166", "176", "177")
MOBILE_PREFIXES += ("180", "181", "182", "185", "186", "187", "188", "189", "198", "199")
#: Fixed lines: (area code, first digits of the 8-digit local number).
LANDLINES = (("10", "56"), ("21", "56"), ("20", "38"), ("755", "268"), ("571", "58"))
MAIL_DOMAINS = ("163.com", "qq.com", "126.com", "sina.com", "outlook.com")

TOPICS = ("年度采购计划", "新产品报价", "框架协议续签", "付款进度", "技术方案评审", "样品测试反馈")
TOPICS += ("交付周期", "售后服务问题", "招标文件准备", "合同条款", "预算审批情况", "项目立项进展")
RESULTS = ("对方表示下周给出答复", "客户认可方案，待内部审批", "需要补充资质材料", "价格仍有分歧")
RESULTS += ("已发送报价单", "约定月底前再次沟通", "客户暂无新需求", "达成初步合作意向")
FOLLOWUP_FORMS: dict[str, tuple[str, ...]] = {
    "call": ("电话沟通{topic}，{result}", "致电对方采购负责人了解{topic}，{result}"),
    "visit": ("上门拜访，面谈{topic}，{result}", "拜访客户技术部门，现场讨论{topic}，{result}"),
    "meeting": (
        "与客户召开会议讨论{topic}，{result}",
        "组织线上会议，双方就{topic}交换意见，{result}",
    ),
    "email": ("邮件发送{topic}相关资料，{result}",),
    "wechat": ("微信沟通{topic}，{result}", "微信发送{topic}材料，{result}"),
    "note": ("内部备注：{topic}，{result}",),
}
KIND_WEIGHTS = {"call": 35, "visit": 20, "meeting": 10, "email": 10, "wechat": 20, "note": 5}
OUTCOMES = ("有意向", "需跟进", "已报价", "已签约", "暂无需求", "待决策")
NEXT_STEPS = (
    "发送正式报价",
    "安排技术交流",
    "提交合同草案",
    "邀请参观工厂",
    "跟进付款",
    "回访使用情况",
)
RELEASE_REASONS = ("长期未跟进，退回公海", "客户暂无需求", "人员调整，退回公海")
RELATIONSHIP_NOTES = ("重点客户，注意维护关系", "关注年底预算", "决策链较长，需多方沟通")

# Organisation of the benchmark group: 4 subsidiaries with 2 sales teams each.
SUBSIDIARIES = (("mfg", "华夏制造"), ("fin", "华夏金融"), ("log", "华夏物流"), ("tech", "华夏科技"))
TEAMS = (("east", "华东销售部"), ("south", "华南销售部"))
MANAGERS_PER_TEAM = 5
PASSWORD = "Bench@2026!groupcrm"
AM_PERMISSIONS = [
    f"{module}.{action}"
    for module in ("customers", "contacts", "followups")
    for action in ("view", "create", "change")
] + ["org.view"]
ANALYST_PERMISSIONS = ["customers.view", "contacts.view", "followups.view", "org.view"]

CHUNK_SIZE = 10_000  # customers per generated chunk
MAX_CHUNKS_IN_FLIGHT = 4  # bounds memory: chunks generated but not yet copied
YEAR = 365 * 86400
SEED = 20260101
NULL = "\\N"  # COPY text format
T = TypeVar("T")


def _columns(names: str) -> list[str]:
    return names.split()


#: Tables filled by COPY; their secondary indexes and constraints are rebuilt afterwards.
LOADED_TABLES = (
    "customers_customer",
    "customers_contact",
    "customers_customerrelationship",
    "customers_followup",
)
CUSTOMER_COLUMNS = _columns(
    "id legal_name short_name uscc legal_form industry size employees annual_revenue address "
    "province city district website source status merged_into_id group_grade parent_id path "
    "depth name_key base_key pinyin initials search_text quality_score quality_issues "
    "created_by_id created_at updated_at"
)
CONTACT_COLUMNS = _columns(
    "id customer_id name title department role mobile phone email wechat_id id_number "
    "mobile_index phone_index email_index birthday birthday_lunar preferred_channel notes "
    "status created_by_id created_at updated_at"
)
RELATIONSHIP_COLUMNS = _columns(
    "customer_id bu_id owner_id stage grade notes protected_until claimed_at last_followup_at "
    "released_at release_reason created_at updated_at"
)
STAGE_TABLE = "bench_followup_stage"
STAGE_COLUMNS = _columns(
    "customer_id bu_id owner_id kind occ content outcome next_step next_due_days location lag"
)

# Search targets and measurement defaults.
SEARCH_TARGET_MS = 50.0
VIEW360_TARGET_MS = 100.0
QUERY_MIX = {
    "prefix2": 20,  # 2-character Chinese prefix: 华夏
    "name4": 20,  # 4-character name: 华夏制造
    "initials": 15,  # 拼音 initials: hxzz
    "pinyin": 15,  # full 拼音 fragment: huaxia, huaxiazhizao
    "uscc": 10,  # an exact unified social credit code
    "mobile": 10,  # a contact's mobile number, as typed
    "contact": 10,  # a contact's name (3 characters)
}


def _zipf(n: int) -> list[float]:
    return [1 / (rank + 1) ** ZIPF_EXPONENT for rank in range(n)]


FIRST_CHARS = tuple(dict.fromkeys(BRAND_FIRST))
SECOND_CHARS = tuple(dict.fromkeys(BRAND_SECOND))
FIRST_WEIGHTS = _zipf(len(FIRST_CHARS))
SECOND_WEIGHTS = _zipf(len(SECOND_CHARS))
TRADE_WEIGHTS = [weight for _term, _code, weight in INDUSTRIES]
SURNAME_CHARS = tuple(dict.fromkeys(SURNAMES))
SURNAME_WEIGHTS = _zipf(len(SURNAME_CHARS))
GIVEN_CHARS = tuple(dict.fromkeys(GIVEN))
CONTENTS = {
    kind: tuple(f.format(topic=t, result=r) for f in forms for t in TOPICS for r in RESULTS)
    for kind, forms in FOLLOWUP_FORMS.items()
}
KINDS = tuple(KIND_WEIGHTS)


def _brand(rng: random.Random) -> str:
    first = rng.choices(FIRST_CHARS, FIRST_WEIGHTS)[0]
    second = first
    while second == first:
        second = rng.choices(SECOND_CHARS, SECOND_WEIGHTS)[0]
    if rng.random() < 0.15:
        return first + second + rng.choice(SECOND_CHARS)
    return first + second


def _trade(rng: random.Random) -> tuple[str, str]:
    term, code, _weight = rng.choices(INDUSTRIES, TRADE_WEIGHTS)[0]
    return term, code


def _person_name(rng: random.Random) -> str:
    surname = rng.choices(SURNAME_CHARS, SURNAME_WEIGHTS)[0]
    given = rng.choice(GIVEN_CHARS)
    if rng.random() < 0.7:
        given += rng.choice(GIVEN_CHARS)
    return surname + given


def _check_vocabulary() -> None:
    """The vocabulary goes into COPY text unescaped: no tab, newline or backslash; the
    industry codes exist; the phone formats are what normalize_phone returns."""
    texts = [
        *itertools.chain.from_iterable(CONTENTS.values()),
        *OUTCOMES,
        *NEXT_STEPS,
        *RELEASE_REASONS,
        *RELATIONSHIP_NOTES,
        *TITLES,
        *DEPARTMENTS,
        *ROADS,
        *(name for place in PLACES for name in place),
    ]
    bad = [text for text in texts if set(text) & set("\t\n\r\\")]
    if bad:
        raise SystemExit(f"vocabulary unsafe for COPY: {bad[:3]}")
    unknown = [code for _term, code, _w in INDUSTRIES if code and not is_industry(code)]
    if unknown:
        raise SystemExit(f"unknown industry codes: {unknown}")
    rng = random.Random(SEED)
    for _ in range(300):
        for number in (_mobile(rng), _landline(rng)):
            try:
                valid = normalize_phone(number) == number
            except ValueError:
                valid = False
            if not valid:
                raise SystemExit(f"{number} is not in the form normalize_phone gives")


def _mobile(rng: random.Random) -> str:
    return f"+86{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**8):08d}"


def _landline(rng: random.Random) -> str:
    area, starts = rng.choice(LANDLINES)
    return f"+86{area}{rng.choice(starts)}{rng.randrange(10**7):07d}"


# =============================================================================================
# The database and the organisation
# =============================================================================================


def _conninfo(dbname: str | None = None) -> str:
    return make_conninfo(DATABASE_URL, dbname=dbname) if dbname else DATABASE_URL


def _database_name() -> str:
    return str(conninfo_to_dict(DATABASE_URL)["dbname"])


def database_exists() -> bool:
    with psycopg.connect(_conninfo("postgres"), autocommit=True) as conn:
        row = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [_database_name()]
        ).fetchone()
    return row is not None


def recreate_database() -> None:
    connections.close_all()
    name = sql.Identifier(_database_name())
    with psycopg.connect(_conninfo("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))


@dataclass(frozen=True)
class Team:
    id: int
    manager_ids: tuple[int, ...]


@dataclass(frozen=True)
class Org:
    group_id: int
    teams: tuple[Team, ...]
    analyst_id: int


def build_org() -> Org:
    """The benchmark group through the org services (as the system): 华夏控股集团, four
    subsidiaries with two sales teams each, five account managers per team (role with
    own scope) and a group analyst (group scope)."""
    system = Actor.system("benchmark")
    group = bu_create(actor=system, name="华夏控股集团", code="bench", kind="group", parent_id=None)
    manager_role = role_create(
        actor=system,
        name="客户经理",
        code="account-manager",
        permissions=AM_PERMISSIONS,
        data_scope="own",
    )
    analyst_role = role_create(
        actor=system,
        name="集团分析师",
        code="analyst",
        permissions=ANALYST_PERMISSIONS,
        data_scope="group",
    )
    rng = random.Random(SEED)
    teams = []
    for sub_code, sub_name in SUBSIDIARIES:
        subsidiary = bu_create(
            actor=system,
            name=sub_name,
            code=f"bench-{sub_code}",
            kind="subsidiary",
            parent_id=group.pk,
        )
        for team_code, team_name in TEAMS:
            team = bu_create(
                actor=system,
                name=team_name,
                code=f"bench-{sub_code}-{team_code}",
                kind="team",
                parent_id=subsidiary.pk,
            )
            managers = [
                user_create(
                    actor=system,
                    username=f"am-{sub_code}-{team_code}-{n}",
                    password=PASSWORD,
                    bu_id=team.pk,
                    role_id=manager_role.pk,
                    display_name=_person_name(rng),
                    title="客户经理",
                ).pk
                for n in range(1, MANAGERS_PER_TEAM + 1)
            ]
            teams.append(Team(team.pk, tuple(managers)))
    analyst = user_create(
        actor=system,
        username="analyst",
        password=PASSWORD,
        bu_id=group.pk,
        role_id=analyst_role.pk,
        display_name="陈静",
        title="数据分析师",
    )
    # A handful of managers own every relationship: the pool rule must allow that, and
    # automatic return to the pool is off so that the data stays as generated.
    services.pool_rule_update(
        actor=system, bu_id=group.pk, max_owned=10_000_000, reclaim_after_days=0
    )
    return Org(group.pk, tuple(teams), analyst.pk)


def load_org() -> Org:
    group = BusinessUnit.objects.get(code="bench")
    teams = []
    for unit in BusinessUnit.objects.filter(kind="team", path__startswith=group.path).order_by(
        "pk"
    ):
        managers = User.objects.filter(
            memberships__bu=unit, memberships__role__code="account-manager"
        ).order_by("pk")
        teams.append(Team(unit.pk, tuple(managers.values_list("pk", flat=True))))
    return Org(group.pk, tuple(teams), User.objects.get(username="analyst").pk)


# =============================================================================================
# Generation: chunks of customers with their contacts, relationships and follow-ups
# =============================================================================================


@dataclass(frozen=True)
class GenContext:
    customers: int
    contacts: int
    followups: int
    now: int  # epoch seconds: "today" of the generated data
    teams: tuple[Team, ...]
    regions: dict[str, tuple[str, str, str]]  # address without house number -> region
    pinyin: dict[str, str]  # character of a person's name -> 拼音

    @property
    def chunks(self) -> int:
        return -(-self.customers // CHUNK_SIZE)

    def share(self, total: int, index: int) -> tuple[int, int]:
        """(first offset, count) of chunk ``index``'s part of ``total`` rows."""
        start = index * CHUNK_SIZE
        end = min(start + CHUNK_SIZE, self.customers)
        first = total * start // self.customers
        return first, total * end // self.customers - first


@dataclass
class Chunk:
    index: int
    customers: bytes
    contacts: bytes
    relationships: bytes
    followups: bytes
    rows: tuple[int, int, int, int]


_CONTEXT: GenContext | None = None  # set before the worker processes are forked


def _context() -> GenContext:
    if _CONTEXT is None:
        raise RuntimeError("generation context not set")
    return _CONTEXT


def _address_key(address: str) -> str:
    return address.removesuffix("号").rstrip("0123456789")


def _region_lookup(address: str) -> tuple[str, str, str]:
    """parse_region for generated addresses: the region of an address does not depend on
    its house number, so it is looked up instead of running cpca a million times."""
    found = _context().regions.get(_address_key(address))
    return found if found is not None else parse_region(address)


def _init_worker() -> None:
    # Only in the generator's worker processes: the service's _derive then uses the
    # looked-up regions (checked against the real parse_region in fidelity_check).
    services.parse_region = _region_lookup  # type: ignore[assignment]


def _ts(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat()


def _copy_line(values: Sequence[object]) -> str:
    out = []
    for value in values:
        if value is None:
            out.append(NULL)
        elif value is True:
            out.append("t")
        elif value is False:
            out.append("f")
        else:
            out.append(str(value))
    return "\t".join(out) + "\n"


def _allocate(total: int, weights: Sequence[float], rng: random.Random) -> list[int]:
    """``total`` split over ``weights`` (proportionally, the remainder at random)."""
    scale = total / sum(weights)
    counts = [int(weight * scale) for weight in weights]
    for index in rng.choices(range(len(weights)), weights, k=total - sum(counts)):
        counts[index] += 1
    return counts


@dataclass
class Node:
    """A customer's place in its chunk: parent (offset in the chunk), depth, group."""

    parent: int | None = None
    depth: int = 0
    group: int = -1


def _layout(n: int, rng: random.Random) -> list[Node]:
    """Groups of depth 1–4 for about GROUP_SHARE of the chunk's customers, at random
    positions; a parent always comes before (has a smaller id than) its children."""
    nodes = [Node() for _ in range(n)]
    budget, sizes = round(n * GROUP_SHARE), []
    while budget >= 2:
        low, high, _weight = rng.choices(GROUP_SIZES, [g[2] for g in GROUP_SIZES])[0]
        sizes.append(min(rng.randint(low, high), budget))
        budget -= sizes[-1]
    positions = rng.sample(range(n), sum(sizes))
    start = 0
    for group, size in enumerate(sizes):
        members = sorted(positions[start : start + size])
        start += size
        max_depth = rng.choices((1, 2, 3, 4), MAX_DEPTH_WEIGHTS)[0]
        root = members[0]
        nodes[root].group = group
        for k, position in enumerate(members[1:], start=1):
            if rng.random() < 0.3:
                parent = root
            else:
                parent = rng.choice([m for m in members[:k] if nodes[m].depth < max_depth])
            nodes[position] = Node(parent, nodes[parent].depth + 1, group)
    return nodes


@dataclass
class Draft:
    """What the generator decides about a customer before the service's derivation."""

    legal_name: str
    legal_form: str
    industry: str
    place: tuple[str, str, str, str]  # where it is registered (PLACES)
    short_name: str = ""


def _drafts(nodes: list[Node], rng: random.Random) -> list[Draft]:
    brands: dict[int, tuple[str, str, str]] = {}  # group -> brand, trade term, industry
    drafts: list[Draft] = []
    names_in_group: dict[int, set[str]] = collections.defaultdict(set)
    for node in nodes:
        place = rng.choice(PLACES)
        if node.group < 0 or node.parent is None:
            brand, (trade, industry) = _brand(rng), _trade(rng)
            forms = ROOT_FORMS if node.group >= 0 else STANDALONE_FORMS
            pattern, form, _w = rng.choices(forms, [f[2] for f in forms])[0]
            name = pattern.format(place=place[0], brand=brand, trade=trade)
            if node.group >= 0:
                brands[node.group] = (brand, trade, industry)
            short = f"{brand}{trade}" if rng.random() < 0.3 else ""
            drafts.append(Draft(name, form, industry, place, short))
            if node.group >= 0:
                names_in_group[node.group].add(name)
            continue
        brand, trade, industry = brands[node.group]
        parent = drafts[node.parent]
        for _attempt in range(5):
            place = rng.choice(PLACES)
            roll = rng.random()
            if roll < 0.2 and parent.legal_form != "branch":
                draft = Draft(f"{parent.legal_name}{place[0]}分公司", "branch", industry, place)
            elif roll < 0.6:
                draft = Draft(f"{brand}{trade}({place[0]})有限公司", "llc", industry, place)
            else:
                other, other_industry = _trade(rng)
                draft = Draft(f"{place[0]}{brand}{other}有限公司", "llc", other_industry, place)
            if draft.legal_name not in names_in_group[node.group]:
                break
        names_in_group[node.group].add(draft.legal_name)
        drafts.append(draft)
    return drafts


def _customer(draft: Draft, node: Node, rng: random.Random) -> Customer:
    """An unsaved customer as customer_create would save it (keys by the service)."""
    size = rng.choices(("large", "medium", "small", "micro", ""), (5, 20, 45, 20, 10))[0]
    employees = {
        "large": (1000, 50000),
        "medium": (100, 999),
        "small": (10, 99),
        "micro": (1, 9),
    }.get(size)
    address = ""
    if rng.random() < 0.85:
        _short, province, city, district = draft.place if rng.random() < 0.8 else rng.choice(PLACES)
        city_part = "" if city == province else city
        address = f"{province}{city_part}{district}{rng.choice(ROADS)}{rng.randint(1, 999)}号"
    legal_form = draft.legal_form
    if rng.random() < 0.08:
        legal_form = ""
    elif legal_form == "llc" and rng.random() < 0.05:
        legal_form = "state_owned"
    grades = ("", "basic", "growth", "key", "strategic")
    is_root = node.group >= 0 and node.parent is None
    grade_weights = (0, 2, 3, 3, 2) if is_root else (70, 15, 10, 4, 1)
    customer = Customer(
        legal_name=draft.legal_name,
        short_name=draft.short_name,
        uscc=make_uscc(rng) if rng.random() < 0.92 else None,
        legal_form=legal_form,
        industry=draft.industry if rng.random() < 0.9 else "",
        size=size,
        employees=rng.randint(*employees) if employees and rng.random() < 0.7 else None,
        annual_revenue=(
            Decimal(rng.randrange(10_000, 500_000_000)) / 100 if rng.random() < 0.6 else None
        ),
        address=address,
        source=rng.choices(
            ("import", "manual", "website", "exhibition", "referral", "integration"),
            (50, 30, 5, 5, 5, 5),
        )[0],
        status="archived" if rng.random() < 0.02 else "active",
        group_grade=rng.choices(grades, grade_weights)[0],
    )
    services._derive(customer)
    if rng.random() < 0.25 and customer.pinyin:
        customer.website = f"www.{customer.pinyin[:24]}.com"
    return customer


def _email(name: str, company_pinyin: str, rng: random.Random, pinyin: dict[str, str]) -> str:
    local = "".join(pinyin[char] for char in name)
    if rng.random() < 0.5:
        local += str(rng.randint(1, 99))
    if company_pinyin and rng.random() < 0.5:
        return f"{local}@{company_pinyin[:20]}.com"
    return f"{local}@{rng.choice(MAIL_DOMAINS)}"


def _contact_line(
    contact_id: int,
    customer: Customer,
    name: str,
    created: float,
    creator: int | None,
    rng: random.Random,
) -> str:
    ctx = _context()
    mobile = _mobile(rng) if rng.random() < 0.9 else ""
    phone = _landline(rng) if rng.random() < 0.25 else ""
    email = _email(name, customer.pinyin, rng, ctx.pinyin) if rng.random() < 0.5 else ""
    wechat = f"wxid_{rng.getrandbits(40):010x}" if rng.random() < 0.2 else ""
    birthday = None
    if rng.random() < 0.15:
        birthday = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(15000))
    return _copy_line(
        (
            contact_id,
            customer.pk,
            name,
            rng.choice(TITLES),
            rng.choice(DEPARTMENTS),
            rng.choices(
                ("decision", "purchasing", "technical", "user", "influencer", "other"),
                (15, 25, 20, 15, 10, 15),
            )[0],
            pii.encrypt(mobile) if mobile else "",
            pii.encrypt(phone) if phone else "",
            pii.encrypt(email) if email else "",
            pii.encrypt(wechat) if wechat else "",
            "",
            pii.blind_index("phone", mobile),
            pii.blind_index("phone", phone),
            pii.blind_index("email", email),
            birthday,
            birthday is not None and rng.random() < 0.2,
            rng.choice(("", "", "mobile", "phone", "email", "wechat", "visit")),
            "",
            "left" if rng.random() < 0.1 else "active",
            creator,
            _ts(created),
            _ts(created),
        )
    )


@dataclass
class Relationship:
    customer: Customer
    team: Team
    owner: int | None
    created: float
    released: float | None
    weight: float


def _followups(rel: Relationship, count: int, rng: random.Random, out: list[str]) -> float | None:
    """Stage rows of ``count`` follow-ups of one relationship; their latest time."""
    ctx = _context()
    low = max(rel.created, ctx.now - 3 * YEAR)
    high = rel.released if rel.released is not None else ctx.now - 3600
    latest = None
    place = rel.customer.address
    for _ in range(count):
        occurred = rng.randint(int(low), int(max(low, high)))
        lag = rng.randint(0, 4 * 3600) if rng.random() < 0.9 else rng.randint(0, 3 * 86400)
        lag = min(lag, max(0, ctx.now - occurred))
        if rel.owner is not None and rng.random() < 0.85:
            author = rel.owner
        else:
            author = rng.choice(rel.team.manager_ids)
        kind = rng.choices(KINDS, KIND_WEIGHTS.values())[0]
        has_next = rng.random() < 0.3
        out.append(
            f"{rel.customer.pk}\t{rel.team.id}\t{author}\t{kind}\t{occurred}\t"
            f"{rng.choice(CONTENTS[kind])}\t"
            f"{rng.choice(OUTCOMES) if rng.random() < 0.6 else ''}\t"
            f"{rng.choice(NEXT_STEPS) if has_next else ''}\t"
            f"{rng.randint(1, 30) if has_next else NULL}\t"
            f"{place if kind == 'visit' else ''}\t{lag}\n"
        )
        if latest is None or occurred > latest:
            latest = occurred
    return latest


def _relationship_line(rel: Relationship, latest: float | None, rng: random.Random) -> str:
    owned = rel.owner is not None
    protected = None
    if owned and rng.random() < 0.03:
        protected = dt.date.fromtimestamp(_context().now) + dt.timedelta(days=rng.randint(1, 90))
    changed = rel.released if rel.released is not None else rel.created
    return _copy_line(
        (
            rel.customer.pk,
            rel.team.id,
            rel.owner,
            rng.choices(("prospect", "intent", "won", "lost"), (35, 25, 30, 10))[0],
            rng.choice(("", "A", "B", "C")),
            rng.choice(RELATIONSHIP_NOTES) if rng.random() < 0.2 else "",
            protected,
            _ts(rel.created) if owned else None,
            _ts(latest) if latest is not None else None,
            _ts(rel.released) if rel.released is not None else None,
            rng.choice(RELEASE_REASONS) if rel.released is not None else "",
            _ts(rel.created),
            _ts(changed),
        )
    )


def _customer_line(customer: Customer, creator: int | None, created: float) -> str:
    return _copy_line(
        (
            customer.pk,
            customer.legal_name,
            customer.short_name,
            customer.uscc,
            customer.legal_form,
            customer.industry,
            customer.size,
            customer.employees,
            customer.annual_revenue,
            customer.address,
            customer.province,
            customer.city,
            customer.district,
            customer.website,
            customer.source,
            customer.status,
            None,
            customer.group_grade,
            customer.parent_id,
            customer.path,
            customer.depth,
            customer.name_key,
            customer.base_key,
            customer.pinyin,
            customer.initials,
            customer.search_text,
            customer.quality_score,
            json.dumps(customer.quality_issues),
            creator,
            _ts(created),
            _ts(created),
        )
    )


def build_chunk(index: int) -> Chunk:
    """Chunk ``index``: its customers (ids fixed by the index), their contacts (ids from
    the chunk's share), relationships and follow-ups (staged, ids given when sorted)."""
    ctx = _context()
    rng = random.Random(f"{SEED}:{index}")
    first_id = index * CHUNK_SIZE + 1
    n = min(CHUNK_SIZE, ctx.customers - index * CHUNK_SIZE)
    nodes = _layout(n, rng)
    drafts = _drafts(nodes, rng)
    start = ctx.now - 4 * YEAR
    span = ctx.now - 86400 - start

    customers: list[Customer] = []
    born: list[float] = []  # creation time of each customer: ids follow time
    for offset, (node, draft) in enumerate(zip(nodes, drafts, strict=True)):
        customer = _customer(draft, node, rng)
        customer.pk = first_id + offset
        parent = customers[node.parent] if node.parent is not None else None
        customer.parent_id = parent.pk if parent else None
        customer.path = (parent.path if parent else "") + customer.own_segment()
        customer.depth = node.depth
        customers.append(customer)
        born.append(start + span * (customer.pk - 1) / ctx.customers)

    # Relationships: one or two sales teams per customer, about 10 % in the pool.
    rels: list[Relationship] = []
    for customer, node, created in zip(customers, nodes, born, strict=True):
        for k, team in enumerate(rng.sample(ctx.teams, 2 if rng.random() < 0.2 else 1)):
            began = min(created + rng.uniform(0, 60 if k == 0 else 365) * 86400, ctx.now - 3600)
            owner = rng.choice(team.manager_ids) if rng.random() < 0.9 else None
            released = None if owner else rng.uniform(began, ctx.now - 3600)
            weight = rng.lognormvariate(0, 1.1) * (3 if node.group >= 0 else 1)
            rels.append(Relationship(customer, team, owner, began, released, weight))
    # Whoever started the first relationship created the customer and its contacts.
    creators = {rel.customer.pk: rel.owner for rel in reversed(rels)}

    # Contacts, then each customer's search text from its contacts' names (in id order).
    contact_first, contact_count = ctx.share(ctx.contacts, index)
    contact_weights = [rng.lognormvariate(0, 0.9) * (3 if n.group >= 0 else 1) for n in nodes]
    per_customer = _allocate(contact_count, contact_weights, rng)
    contact_lines, customer_lines = [], []
    contact_id = contact_first + 1
    for customer, count, created in zip(customers, per_customer, born, strict=True):
        creator = creators[customer.pk]
        names = [_person_name(rng) for _ in range(count)]
        for name in names:
            when = min(created + rng.uniform(0, 365) * 86400, ctx.now - 3600)
            contact_lines.append(_contact_line(contact_id, customer, name, when, creator, rng))
            contact_id += 1
        customer.search_text = search.document(customer, names)
        customer_lines.append(_customer_line(customer, creator, created))

    _first, followup_count = ctx.share(ctx.followups, index)
    per_rel = _allocate(followup_count, [rel.weight for rel in rels], rng)
    followup_lines: list[str] = []
    rel_lines = []
    for rel, count in zip(rels, per_rel, strict=True):
        latest = _followups(rel, count, rng, followup_lines)
        rel_lines.append(_relationship_line(rel, latest, rng))
    return Chunk(
        index,
        "".join(customer_lines).encode(),
        "".join(contact_lines).encode(),
        "".join(rel_lines).encode(),
        "".join(followup_lines).encode(),
        (len(customers), contact_count, len(rels), followup_count),
    )


def _chunks(ctx: GenContext, workers: int) -> Iterator[Chunk]:
    """Chunks in order, built by ``workers`` forked processes, at most
    MAX_CHUNKS_IN_FLIGHT at a time."""
    global _CONTEXT
    _CONTEXT = ctx
    connections.close_all()  # never share a connection with the forked workers
    with multiprocessing.get_context("fork").Pool(workers, initializer=_init_worker) as pool:
        pending: collections.deque[Any] = collections.deque()
        indexes = iter(range(ctx.chunks))
        for index in itertools.islice(indexes, MAX_CHUNKS_IN_FLIGHT):
            pending.append(pool.apply_async(build_chunk, (index,)))
        while pending:
            chunk = pending.popleft().get()
            for index in itertools.islice(indexes, 1):
                pending.append(pool.apply_async(build_chunk, (index,)))
            yield chunk


# =============================================================================================
# Loading: COPY, then indexes, constraints, sequences and statistics
# =============================================================================================


@dataclass(frozen=True)
class Schema:
    """Secondary indexes and constraints of the loaded tables, to rebuild after COPY."""

    indexes: list[tuple[str, str]]  # (name, CREATE INDEX statement)
    unique: list[tuple[str, str, str]]  # (table, name, definition)
    foreign: list[tuple[str, str, str]]


def _schema(conn: psycopg.Connection[Any]) -> Schema:
    tables = list(LOADED_TABLES)
    indexes = conn.execute(
        """
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                          WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))
        ORDER BY i.indrelid, i.indexrelid
        """,
        [tables],
    ).fetchall()
    constraints = conn.execute(
        """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype
        FROM pg_constraint WHERE conrelid = ANY(%s::regclass[]) AND contype IN ('u', 'f')
        ORDER BY conrelid, conname
        """,
        [tables],
    ).fetchall()
    return Schema(
        indexes=[(name, definition) for name, definition in indexes],
        unique=[(t, n, d) for t, n, d, kind in constraints if kind == "u"],
        foreign=[(t, n, d) for t, n, d, kind in constraints if kind == "f"],
    )


class Phases:
    """Wall time of each phase, printed as it ends."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def run(self, name: str, func: Callable[[], T]) -> T:
        print(f"-- {name} …", flush=True)
        start = time.perf_counter()
        value = func()
        self.seconds[name] = time.perf_counter() - start
        print(f"   {name}: {self.seconds[name]:.1f} s", flush=True)
        return value


def _raw_connection() -> psycopg.Connection[Any]:
    conn = psycopg.connect(_conninfo(), autocommit=True)
    conn.execute("SET synchronous_commit = off")
    conn.execute("SET maintenance_work_mem = '2GB'")
    conn.execute("SET max_parallel_maintenance_workers = 2")
    conn.execute("SET work_mem = '512MB'")
    return conn


def _copy(conn: psycopg.Connection[Any], table: str, columns: list[str], data: bytes) -> None:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.cursor() as cur, cur.copy(statement) as copy:
        copy.write(data)


def _load_chunks(conn: psycopg.Connection[Any], ctx: GenContext, workers: int) -> None:
    started = time.perf_counter()
    totals = [0, 0, 0, 0]
    step = max(1, ctx.chunks // 20)
    for chunk in _chunks(ctx, workers):
        with conn.transaction():
            _copy(conn, "customers_customer", CUSTOMER_COLUMNS, chunk.customers)
            _copy(conn, "customers_contact", CONTACT_COLUMNS, chunk.contacts)
            _copy(conn, "customers_customerrelationship", RELATIONSHIP_COLUMNS, chunk.relationships)
            _copy(conn, STAGE_TABLE, STAGE_COLUMNS, chunk.followups)
        totals = [a + b for a, b in zip(totals, chunk.rows, strict=True)]
        if (chunk.index + 1) % step == 0 or chunk.index + 1 == ctx.chunks:
            elapsed = time.perf_counter() - started
            print(
                f"   chunk {chunk.index + 1}/{ctx.chunks}: {totals[0]:,} customers, "
                f"{totals[1]:,} contacts, {totals[2]:,} relationships, {totals[3]:,} "
                f"follow-ups in {elapsed:.0f} s ({sum(totals) / elapsed:,.0f} rows/s)",
                flush=True,
            )


def _sort_followups(conn: psycopg.Connection[Any], tz: str) -> None:
    """Follow-ups into their table in the order they were logged: ids and the physical
    order follow time, as when the services write them over three years."""
    conn.execute(
        sql.SQL(
            """
            INSERT INTO customers_followup (customer_id, bu_id, owner_id, kind, occurred_at,
                content, outcome, next_step, next_due, location, created_at, updated_at)
            SELECT customer_id, bu_id, owner_id, kind, to_timestamp(occ), content, outcome,
                next_step, (to_timestamp(occ) AT TIME ZONE {tz})::date + next_due_days,
                location, to_timestamp(occ + lag), to_timestamp(occ + lag)
            FROM {stage} ORDER BY occ + lag, customer_id
            """
        ).format(tz=sql.Literal(tz), stage=sql.Identifier(STAGE_TABLE))
    )
    conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(STAGE_TABLE)))


def _redraw_duplicate_usccs() -> int:
    """make_uscc is random: the odd collision is re-drawn, as the user would correct it
    (the service refuses a duplicate), and the search text follows (search.reindex)."""
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY uscc ORDER BY id) AS n
                            FROM customers_customer WHERE uscc IS NOT NULL) t WHERE n > 1
            """
        )
        ids = [row[0] for row in cur.fetchall()]
    rng = random.Random(SEED)
    codes: dict[int, str] = {}
    while len(codes) < len(ids):  # draws are checked in one query (no index yet)
        drawn = {pk: make_uscc(rng) for pk in ids if pk not in codes}
        taken = set(Customer.objects.filter(uscc__in=drawn.values()).values_list("uscc", flat=True))
        for pk, code in drawn.items():
            if code not in taken and code not in codes.values():
                codes[pk] = code
    for pk, code in codes.items():
        Customer.objects.filter(pk=pk).update(uscc=code)
    search.reindex(ids)
    return len(ids)


def _rebuild(conn: psycopg.Connection[Any], schema: Schema) -> None:
    for name, statement in schema.indexes:
        start = time.perf_counter()
        conn.execute(statement)
        print(f"   index {name}: {time.perf_counter() - start:.1f} s", flush=True)
    for table, name, definition in [*schema.unique, *schema.foreign]:
        start = time.perf_counter()
        conn.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
        print(f"   constraint {name}: {time.perf_counter() - start:.1f} s", flush=True)


def generate(customers: int, contacts: int, followups: int, workers: int) -> dict[str, float]:
    phases = Phases()
    phases.run("create database and migrate", _create_and_migrate)
    org = phases.run("organisation (through the org services)", build_org)
    ctx = _gen_context(org, customers, contacts, followups)
    conn = _raw_connection()
    schema = _schema(conn)

    def prepare() -> None:
        for table, name, _definition in [*schema.foreign, *schema.unique]:
            conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
        for name, _statement in schema.indexes:
            conn.execute(f"DROP INDEX {name}")
        conn.execute(
            sql.SQL(
                "CREATE UNLOGGED TABLE {} (customer_id bigint, bu_id bigint, owner_id bigint, "
                "kind text, occ bigint, content text, outcome text, next_step text, "
                "next_due_days int, location text, lag int)"
            ).format(sql.Identifier(STAGE_TABLE))
        )

    phases.run("drop secondary indexes and constraints", prepare)
    phases.run(
        f"generate and COPY ({workers} worker processes)",
        lambda: _load_chunks(conn, ctx, workers),
    )
    phases.run("follow-ups in time order", lambda: _sort_followups(conn, settings.TIME_ZONE))
    redrawn = phases.run("re-draw duplicate credit codes", _redraw_duplicate_usccs)
    print(f"   {redrawn} re-drawn")
    phases.run("rebuild indexes and constraints", lambda: _rebuild(conn, schema))

    def sequences() -> None:
        for table in LOADED_TABLES:
            conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )
        for table in LOADED_TABLES:
            conn.execute(f"VACUUM (ANALYZE) {table}")

    phases.run("reset sequences, VACUUM ANALYZE", sequences)
    phases.run("fidelity check against the services", fidelity_check)
    conn.execute(
        "CREATE TABLE bench_meta (key text PRIMARY KEY, value jsonb NOT NULL)",
    )
    conn.execute(
        "INSERT INTO bench_meta VALUES ('dataset', %s), ('phases', %s)",
        [
            json.dumps({"customers": customers, "contacts": contacts, "followups": followups}),
            json.dumps(list(phases.seconds.items())),  # jsonb objects lose their order
        ],
    )
    conn.close()
    return phases.seconds


def _create_and_migrate() -> None:
    recreate_database()
    call_command("migrate", interactive=False, verbosity=0)


def _gen_context(org: Org, customers: int, contacts: int, followups: int) -> GenContext:
    regions = {}
    for _short, province, city, district in PLACES:
        city_part = "" if city == province else city
        for road in ROADS:
            prefix = f"{province}{city_part}{district}{road}"
            regions[prefix] = parse_region(f"{prefix}88号")
    chars = set(SURNAME_CHARS) | set(GIVEN_CHARS)
    return GenContext(
        customers=customers,
        contacts=contacts,
        followups=followups,
        now=int(time.time()),
        teams=org.teams,
        regions=regions,
        pinyin={char: lazy_pinyin(char)[0] for char in chars},
    )


def existing_dataset() -> tuple[dict[str, int], dict[str, float]] | None:
    """(dataset, generation phases) of a complete earlier run whose counts still hold."""
    if not database_exists():
        return None
    with psycopg.connect(_conninfo(), autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('bench_meta')").fetchone() == (None,):
            return None
        meta = dict(conn.execute("SELECT key, value FROM bench_meta").fetchall())
        dataset = meta["dataset"]
        counts = {
            "customers": "customers_customer",
            "contacts": "customers_contact",
            "followups": "customers_followup",
        }
        for key, table in counts.items():
            row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
            if row.fetchone() != (dataset[key],):
                return None
    return dataset, dict(meta["phases"])


# =============================================================================================
# Fidelity: the generated rows against what the services compute
# =============================================================================================


def fidelity_check(sample: int = 300) -> None:
    """Recompute a sample with the services' own code and compare; raise on a mismatch."""
    rng = random.Random(SEED)
    top = Customer.objects.order_by("-pk").values_list("pk", flat=True)[0]
    ids = rng.sample(range(1, top + 1), min(sample, top))
    derived = ("name_key", "base_key", "pinyin", "initials", "province", "city", "district")
    derived += ("quality_score", "quality_issues")
    problems = []
    for customer in Customer.objects.filter(pk__in=ids).select_related("parent"):
        fresh = Customer(
            **{
                name: getattr(customer, name)
                for name in ("legal_name", "uscc", "industry", "address", "size", "legal_form")
            }
        )
        services._derive(fresh)
        problems += [
            f"customer {customer.pk} {name}"
            for name in derived
            if getattr(fresh, name) != getattr(customer, name)
        ]
        names = Contact.objects.filter(customer=customer).order_by("pk").values_list("name")
        if search.document(customer, [n for (n,) in names]) != customer.search_text:
            problems.append(f"customer {customer.pk} search_text")
        expected_path = (customer.parent.path if customer.parent else "") + customer.own_segment()
        if customer.path != expected_path or customer.depth != expected_path.count("/") - 1:
            problems.append(f"customer {customer.pk} path")
    contacts = Contact.objects.filter(customer_id__in=ids)[:sample]
    for contact in contacts:
        for value, index, kind, normalize in (
            (contact.mobile, contact.mobile_index, "phone", normalize_phone),
            (contact.phone, contact.phone_index, "phone", normalize_phone),
            (contact.email, contact.email_index, "email", normalize_email),
        ):
            if value and (normalize(value) != value or pii.blind_index(kind, value) != index):
                problems.append(f"contact {contact.pk} {kind}")
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT count(*) FROM customers_customerrelationship r
            WHERE r.customer_id = ANY(%s) AND r.last_followup_at IS DISTINCT FROM (
                SELECT max(occurred_at) FROM customers_followup f
                WHERE f.customer_id = r.customer_id AND f.bu_id = r.bu_id)
            """,
            [ids],
        )
        (stale,) = cur.fetchone()
    if stale:
        problems.append(f"{stale} relationships with a wrong last_followup_at")
    if problems:
        raise SystemExit(
            "fidelity check failed (have the services changed? generate again without "
            "--reuse): " + "; ".join(problems[:20])
        )
    print(f"   {len(ids)} customers and {len(contacts)} contacts match the services")


# =============================================================================================
# Workloads
# =============================================================================================


@dataclass(frozen=True)
class Query:
    kind: str  # one of QUERY_MIX
    text: str


def search_queries(count: int, rng: random.Random) -> list[Query]:
    """A realistic mix: names and 拼音 drawn like the data, codes, phones and contact
    names of random existing rows."""
    kinds = rng.choices(list(QUERY_MIX), list(QUERY_MIX.values()), k=count)
    needed = collections.Counter(kinds)
    top_customer = Customer.objects.order_by("-pk").values_list("pk", flat=True)[0]
    usccs = list(
        Customer.objects.filter(
            pk__in=rng.sample(range(1, top_customer + 1), min(top_customer, needed["uscc"] * 2)),
            uscc__isnull=False,
        ).values_list("uscc", flat=True)
    )
    top_contact = Contact.objects.order_by("-pk").values_list("pk", flat=True)[0]
    sampled = Contact.objects.filter(
        pk__in=rng.sample(range(1, top_contact + 1), min(top_contact, 20 * count // 10 + 200))
    ).only("name", "mobile")
    mobiles = [c.mobile for c in sampled if c.mobile]
    names = [c.name for c in sampled if len(c.name) == 3]
    queries = []
    for kind in kinds:
        brand = _brand(rng)[:2]
        trade = rng.choice([t for t, _c, _w in INDUSTRIES if len(t) == 2])
        if kind == "prefix2":
            text = brand
        elif kind == "name4":
            text = brand + trade
        elif kind == "initials":
            text = name_pinyin(brand + trade)[1]
        elif kind == "pinyin":
            text = name_pinyin(brand if rng.random() < 0.5 else brand + trade)[0]
        elif kind == "uscc":
            text = rng.choice(usccs)
        elif kind == "mobile":
            national = rng.choice(mobiles).removeprefix("+86")
            spaced = f"{national[:3]} {national[3:7]} {national[7:]}"
            text = rng.choice((national, spaced, f"+86 {national}"))
        else:
            text = rng.choice(names)
        queries.append(Query(kind, text))
    return queries


def app_search(user: User, query: Query) -> dict[str, float]:
    """The app: search_ids (the picker) and the first page of the customer list."""
    start = time.perf_counter()
    search_ids(query.text)
    middle = time.perf_counter()
    actor = Actor(user)
    items = customer_list(actor=actor, filters=CustomerFilters(q=query.text))
    list(Paginator(items, PAGE_SIZE).get_page(1).object_list)
    return {"search_ids": middle - start, "customer_list page 1": time.perf_counter() - middle}


LIST_COLUMNS = "id, legal_name, short_name, uscc, group_grade, province, city, status"
SQL_SEARCH = {
    "uscc": f"SELECT {LIST_COLUMNS} FROM customers_customer WHERE uscc = %s",
    "phone": f"""
        SELECT {LIST_COLUMNS} FROM customers_customer WHERE id IN (
            SELECT customer_id FROM customers_contact WHERE mobile_index = %s
            UNION SELECT customer_id FROM customers_contact WHERE phone_index = %s)
        AND status = 'active' LIMIT {PAGE_SIZE}""",
    "prefix": f"""
        SELECT {LIST_COLUMNS} FROM customers_customer
        WHERE (name_key LIKE %s OR initials LIKE %s OR pinyin LIKE %s) AND status = 'active'
        ORDER BY similarity(legal_name, %s) DESC, id LIMIT {PAGE_SIZE}""",
    "trigram": f"""
        SELECT {LIST_COLUMNS} FROM customers_customer
        WHERE search_text LIKE %s AND status = 'active'
        ORDER BY similarity(legal_name, %s) DESC, id LIMIT {PAGE_SIZE}""",
}


def sql_search(query: Query) -> None:
    """The minimal SQL for the same first page: the person knows what they look for."""
    text = query.text
    with connection.cursor() as cur:
        if query.kind == "uscc":
            cur.execute(SQL_SEARCH["uscc"], [text])
        elif query.kind == "mobile":
            index = pii.blind_index("phone", normalize_phone(text))
            cur.execute(SQL_SEARCH["phone"], [index, index])
        elif len(text) < 3:
            prefix = text.lower() + "%"
            cur.execute(SQL_SEARCH["prefix"], [prefix, prefix, prefix, text])
        else:
            cur.execute(SQL_SEARCH["trigram"], [f"%{text.lower()}%", text])
        cur.fetchall()


def app_view360(user: User, pk: int) -> None:
    view360(actor=Actor(user), pk=pk)


VIEW360_SQL = (
    """SELECT c.*, p.legal_name FROM customers_customer c
       LEFT JOIN customers_customer p ON p.id = c.parent_id WHERE c.id = %(id)s""",
    """SELECT id, legal_name, short_name, group_grade, status FROM customers_customer
       WHERE parent_id = %(id)s AND status <> 'merged' ORDER BY legal_name, id LIMIT 50""",
    """SELECT id, name, title, department, role, status, mobile, phone, email, wechat_id,
              id_number FROM customers_contact WHERE customer_id = %(id)s
       ORDER BY status, role, name""",
    """SELECT r.id, r.bu_id, b.name, r.owner_id, u.display_name, r.stage, r.grade, r.notes,
              r.last_followup_at, r.claimed_at, r.protected_until
       FROM customers_customerrelationship r JOIN org_businessunit b ON b.id = r.bu_id
       LEFT JOIN org_user u ON u.id = r.owner_id WHERE r.customer_id = %(id)s
       ORDER BY b.path""",
    """SELECT f.id, f.kind, f.occurred_at, f.content, f.outcome, f.next_step, f.next_due,
              f.location, b.name, u.display_name
       FROM customers_followup f JOIN org_businessunit b ON b.id = f.bu_id
       JOIN org_user u ON u.id = f.owner_id WHERE f.customer_id = %(id)s {scope}
       ORDER BY f.occurred_at DESC, f.id DESC LIMIT 50""",
    """WITH fu AS (
           SELECT count(*) FILTER (WHERE occurred_at >= now() - interval '365 days') AS year,
                  max(occurred_at) AS latest,
                  count(*) FILTER (WHERE next_due >= current_date) AS open
           FROM customers_followup f WHERE f.customer_id = %(id)s {scope})
       SELECT (SELECT count(*) FROM customers_customer WHERE path LIKE %(path)s) - 1,
              (SELECT count(*) FROM customers_contact ct
               JOIN customers_customer c ON c.id = ct.customer_id WHERE c.path LIKE %(path)s),
              (SELECT count(*) FROM customers_followup f
               JOIN customers_customer c ON c.id = f.customer_id
               WHERE c.path LIKE %(path)s {scope}),
              (SELECT count(*) FROM customers_contact
               WHERE customer_id = %(id)s AND status = 'active'),
              fu.year, fu.latest, fu.open FROM fu""",
    """SELECT id, at, action, verb, object_type, object_repr FROM audit_changerecord
       WHERE subject = %(subject)s ORDER BY id DESC LIMIT 50""",
)
MASKS = (pii.mask_phone, pii.mask_phone, pii.mask_email, pii.mask_text, pii.mask_id_number)


def _masked(tokens: Sequence[str]) -> list[str]:
    """mobile, phone, email, wechat_id, id_number: decrypted, then masked for display."""
    return [
        mask(pii.decrypt(token) if token else token)
        for mask, token in zip(MASKS, tokens, strict=True)
    ]


def sql_view360(scope: tuple[int, int] | None, pk: int) -> None:
    """The same pieces by hand: customer and parent, children, contacts (decrypted and
    masked), relationships, the latest 50 follow-ups and roll-ups over the subtree, with
    the actor's scope (unit and owner for an account manager) written into the SQL."""
    where = "AND f.bu_id = %(bu)s AND f.owner_id = %(owner)s" if scope else ""
    params: dict[str, Any] = {"id": pk, "subject": f"customers.customer:{pk}"}
    if scope:
        params["bu"], params["owner"] = scope
    with connection.cursor() as cur:
        cur.execute(VIEW360_SQL[0], params)
        row = cur.fetchone()
        params["path"] = row[[col.name for col in cur.description].index("path")] + "%"
        for statement in VIEW360_SQL[1:]:
            cur.execute(statement.replace("{scope}", where), params)
            rows = cur.fetchall()
            if statement is VIEW360_SQL[2]:
                for contact in rows:
                    _masked(contact[6:])


# =============================================================================================
# Running a measurement
# =============================================================================================


@dataclass(frozen=True)
class Op:
    kind: str
    run: Callable[[], dict[str, float] | None]


@dataclass
class Result:
    name: str
    clients: int
    wall: float
    latencies: list[float]
    kinds: list[str]
    parts: dict[str, list[float]] = field(default_factory=dict)
    queries_per_op: float | None = None

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.wall


def run(name: str, ops: list[Op], warmup: list[Op], clients: int) -> Result:
    """``ops`` by ``clients`` threads (each with its own connection), after each thread
    ran its share of ``warmup``; latency per op, and wall time for throughput."""
    print(f"-- {name}: {len(ops)} ops, {clients} clients …", flush=True)
    barrier = threading.Barrier(clients + 1)
    counter = itertools.count()
    timings: list[tuple[float, dict[str, float] | None]] = [(0.0, None)] * len(ops)
    errors: list[BaseException] = []

    def client(number: int) -> None:
        try:
            for op in warmup[number::clients]:
                op.run()
            barrier.wait()
            while (index := next(counter)) < len(ops):
                start = time.perf_counter()
                parts = ops[index].run()
                timings[index] = (time.perf_counter() - start, parts)
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        barrier.wait()  # the clients are warm: start the clock
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    if errors:
        raise errors[0]
    result = Result(name, clients, wall, [t for t, _ in timings], [op.kind for op in ops])
    for _t, parts in timings:
        for part, seconds in (parts or {}).items():
            result.parts.setdefault(part, []).append(seconds)
    result.queries_per_op = _queries_per_op(ops[:20])
    print(f"   p95 {_percentile(result.latencies, 95):.1f} ms", flush=True)
    return result


def _queries_per_op(ops: list[Op]) -> float:
    total = 0
    for op in ops:
        with CaptureQueriesContext(connection) as captured:
            op.run()
        total += len(captured)
    return total / len(ops)


def _percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(pct / 100 * len(ordered))))
    return ordered[rank - 1] * 1000


def explain_slowest(result: Result, ops: list[Op], top: int = 2) -> None:
    """Re-run the slowest ops of ``result`` alone; show their slowest statements and the
    plan (EXPLAIN ANALYZE, BUFFERS) of the slowest one."""
    slowest = sorted(range(len(ops)), key=lambda i: result.latencies[i], reverse=True)[:top]
    for index in slowest:
        op = ops[index]
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            op.run()
            alone = (time.perf_counter() - start) * 1000
        statements = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))
        print(
            f"\n### {result.name}: {op.kind}, {result.latencies[index] * 1000:.0f} ms under load, "
            f"{alone:.0f} ms alone, {len(statements)} statements"
        )
        for statement in statements[:3]:
            print(f"  {float(statement['time']) * 1000:7.1f} ms  {statement['sql'][:300]}")
        if statements:
            with connection.cursor() as cur:
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statements[0]["sql"])
                print("\n".join("    " + line for (line,) in cur.fetchall()))


# =============================================================================================
# Reporting
# =============================================================================================


def code_version() -> str:
    """The commit of the app being measured (read at start: the code is imported then)."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    if git("status", "--porcelain", "--", "src"):
        commit += " (with uncommitted changes under src/)"
    return commit


def machine_report(commit: str) -> list[str]:
    """Where the figures come from: code version, cores, memory, PostgreSQL settings."""
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        memory = int(meminfo.readline().split()[1]) / 1024**2
    names = ("shared_buffers", "work_mem", "effective_cache_size", "random_page_cost")
    names += ("max_parallel_workers_per_gather", "jit")
    with connection.cursor() as cur:
        cur.execute("SELECT version()")
        version = cur.fetchone()[0].split(" on ")[0]
        settings_line = []
        for name in names:
            cur.execute("SELECT current_setting(%s)", [name])
            settings_line.append(f"{name}={cur.fetchone()[0]}")
    return [
        f"- code: groupcrm {commit}",
        f"- machine: {os.cpu_count()} cores, {memory:.0f} GiB RAM; {version}",
        f"- PostgreSQL settings: {', '.join(settings_line)}",
    ]


def dataset_report() -> list[str]:
    tables = (*LOADED_TABLES, "org_businessunit", "org_user", "audit_changerecord")
    lines = [
        "| table | rows | table | indexes | total |",
        "|---|---:|---:|---:|---:|",
    ]
    with connection.cursor() as cur:
        for table in tables:
            cur.execute(
                f"SELECT count(*), pg_relation_size('{table}'), pg_indexes_size('{table}'), "
                f"pg_total_relation_size('{table}') FROM {table}"
            )
            rows, heap, indexes, total = cur.fetchone()
            lines.append(
                f"| {table} | {rows:,} | {_size(heap)} | {_size(indexes)} | {_size(total)} |"
            )
        cur.execute("SELECT pg_database_size(current_database())")
        lines.append(f"| **database** | | | | {_size(cur.fetchone()[0])} |")
    return lines


def _size(size: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError


def _row(label: str, values: Sequence[float], result: Result | None = None) -> str:
    """A table row; throughput and statements per op only for a whole measurement."""
    figures = " | ".join(f"{_percentile(values, p):.1f}" for p in (50, 95, 99, 100))
    throughput = queries = ""
    if result is not None:
        throughput = f"{result.throughput:.0f}"
        queries = f"{result.queries_per_op:.0f}" if result.queries_per_op is not None else ""
    return f"| {label} | {len(values)} | {figures} | {throughput} | {queries} |"


def results_table(results: list[Result]) -> list[str]:
    lines = [
        "| measurement | ops | p50 ms | p95 ms | p99 ms | max ms | ops/s | SQL/op |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        lines.append(_row(f"**{result.name}**", result.latencies, result))
        for part, values in result.parts.items():
            lines.append(_row(f"↳ {part}", values))
        if len(set(result.kinds)) > 1:
            by_kind: dict[str, list[float]] = collections.defaultdict(list)
            for kind, latency in zip(result.kinds, result.latencies, strict=True):
                by_kind[kind].append(latency)
            for kind in QUERY_MIX:
                if kind in by_kind:
                    lines.append(_row(f"· {kind}", by_kind[kind]))
    return lines


def verdicts(results: dict[str, Result]) -> list[str]:
    lines = []
    for name, result in results.items():
        if not name.startswith("app"):
            continue
        target = SEARCH_TARGET_MS if "search" in name else VIEW360_TARGET_MS
        p95 = _percentile(result.latencies, 95)
        verdict = "PASS" if p95 <= target else "FAIL"
        lines.append(f"- {verdict}: {name}: p95 {p95:.1f} ms (target ≤ {target:.0f} ms)")
    return lines


# =============================================================================================
# Main
# =============================================================================================


def _prewarm() -> None:
    """Read the data into the OS page cache (it fits in RAM), as in steady operation."""
    with connection.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        for table in LOADED_TABLES:
            cur.execute("SELECT pg_prewarm(%s::regclass, 'read')", [table])
            cur.execute(
                "SELECT sum(pg_prewarm(indexrelid, 'read')) FROM pg_index "
                "WHERE indrelid = %s::regclass",
                [table],
            )


def measure(args: argparse.Namespace, org: Org) -> dict[str, Result]:
    rng = random.Random(SEED + 1)
    managers = {pk: User.objects.get(pk=pk) for team in org.teams for pk in team.manager_ids}
    team_of = {pk: team.id for team in org.teams for pk in team.manager_ids}
    analyst = User.objects.get(pk=org.analyst_id)
    total = args.queries + args.warmup

    queries = search_queries(total, rng)
    people = [managers[rng.choice(list(managers))] for _ in queries]
    app_ops = [
        Op(q.kind, lambda u=u, q=q: app_search(u, q)) for u, q in zip(people, queries, strict=True)
    ]
    sql_ops = [Op(q.kind, lambda q=q: sql_search(q)) for q in queries]

    with connection.cursor() as cur:
        cur.execute("SELECT max(id) FROM customers_customerrelationship")
        (top_rel,) = cur.fetchone()
        cur.execute(
            "SELECT owner_id, customer_id FROM customers_customerrelationship "
            "WHERE id = ANY(%s) AND owner_id IS NOT NULL",
            [rng.sample(range(1, top_rel + 1), min(top_rel, total * 2))],
        )
        owned = cur.fetchall()[:total]
        cur.execute("SELECT max(id) FROM customers_customer")
        (top_customer,) = cur.fetchone()
        cur.execute(
            "SELECT DISTINCT c.id FROM customers_customer c "
            "JOIN customers_customer child ON child.parent_id = c.id WHERE c.depth = 0"
        )
        roots = [pk for (pk,) in cur.fetchall()]
    anyone = [rng.randint(1, top_customer) for _ in range(total)]
    group_roots = [rng.choice(roots) for _ in range(total)]

    def view_ops(pairs: list[tuple[User, int]]) -> tuple[list[Op], list[Op]]:
        app = [Op("360", lambda u=u, pk=pk: app_view360(u, pk)) for u, pk in pairs]
        by_hand = []
        for user, pk in pairs:
            scope = (team_of[user.pk], user.pk) if user.pk in team_of else None
            by_hand.append(Op("360", lambda s=scope, pk=pk: sql_view360(s, pk)))
        return app, by_hand

    workloads = {
        "search": (app_ops, sql_ops),
        "360 account manager (own customers)": view_ops(
            [(managers[owner], pk) for owner, pk in owned]
        ),
        "360 group analyst (any customer)": view_ops([(analyst, pk) for pk in anyone]),
        "360 group analyst (group parents)": view_ops([(analyst, pk) for pk in group_roots]),
    }
    results: dict[str, Result] = {}
    for name, (app, by_hand) in workloads.items():
        for label, ops in (("app", app), ("SQL", by_hand)):
            key = f"{label} {name}"
            results[key] = run(key, ops[args.warmup :], ops[: args.warmup], args.clients)
            if args.explain and label == "app":
                explain_slowest(results[key], ops[args.warmup :])
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--contacts", type=int, default=3_000_000)
    parser.add_argument("--followups", type=int, default=10_000_000)
    parser.add_argument("--reuse", action="store_true", help="keep data of the same size")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads")
    parser.add_argument("--queries", type=int, default=2000, help="ops per measurement")
    parser.add_argument("--warmup", type=int, default=200, help="untimed ops first")
    parser.add_argument("--workers", type=int, default=2, help="generator processes")
    parser.add_argument("--explain", action="store_true", help="plans of the slowest app ops")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    commit = code_version()
    _check_vocabulary()

    wanted = {"customers": args.customers, "contacts": args.contacts, "followups": args.followups}
    existing = existing_dataset() if args.reuse else None
    started = time.perf_counter()
    if existing is not None and existing[0] == wanted:
        phases = existing[1]
        print(f"== reusing {_database_name()}: {wanted}")
        # The app may have moved on since the data was made: current schema, and the
        # generated rows must still be what the current services would write.
        call_command("migrate", interactive=False, verbosity=0)
        fidelity_check()
    else:
        print(f"== generating {_database_name()}: {wanted}")
        phases = generate(args.customers, args.contacts, args.followups, args.workers)
        print(f"== generated in {time.perf_counter() - started:.0f} s")
    connections.close_all()
    org = load_org()
    _prewarm()
    results = measure(args, org)

    lines = [
        "## Machine",
        "",
        *machine_report(commit),
        "",
        f"## Dataset ({_database_name()})",
        "",
        *dataset_report(),
        "",
        "## Generation",
        "",
        *(f"- {name}: {seconds:.0f} s" for name, seconds in phases.items()),
        f"- total: {sum(phases.values()):.0f} s",
        "",
        f"## Figures ({args.clients} clients, {args.queries} ops each, "
        f"after {args.warmup} warm-up ops)",
        "",
        *results_table(list(results.values())),
        "",
        "## Targets",
        "",
        *verdicts(results),
    ]
    print("\n" + "\n".join(lines))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(
                {
                    "dataset": wanted,
                    "phases": phases,
                    "clients": args.clients,
                    "results": {
                        name: {
                            "wall": r.wall,
                            "latencies": r.latencies,
                            "kinds": r.kinds,
                            "parts": r.parts,
                            "queries_per_op": r.queries_per_op,
                        }
                        for name, r in results.items()
                    },
                },
                handle,
            )
    connections.close_all()


if __name__ == "__main__":
    sys.exit(main())
