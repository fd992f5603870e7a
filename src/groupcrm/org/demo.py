"""The demo group 华夏控股集团: units, roles and about 30 people, built through the
same services as the UI (so the demo also fills the audit log and the outbox)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from groupcrm.announcements.services import announcement_create
from groupcrm.core.actor import Actor
from groupcrm.org.models import BusinessUnit, Role, User
from groupcrm.org.services import bu_create, role_create, user_create

# (code, name, kind, parent code)
UNITS: list[tuple[str, str, str, str | None]] = [
    ("hx", "华夏控股集团", "group", None),
    ("hx-hq", "集团总部", "department", "hx"),
    ("hx-hq-ka", "大客户部", "team", "hx-hq"),
    ("hx-hq-data", "数据与分析部", "team", "hx-hq"),
    ("hx-hq-sec", "信息安全与合规部", "team", "hx-hq"),
    ("hx-mfg", "华夏制造", "subsidiary", "hx"),
    ("hx-mfg-east", "华东销售部", "department", "hx-mfg"),
    ("hx-mfg-east-sh", "上海团队", "team", "hx-mfg-east"),
    ("hx-mfg-south", "华南销售部", "department", "hx-mfg"),
    ("hx-mfg-svc", "制造客户服务部", "department", "hx-mfg"),
    ("hx-fin", "华夏金融", "subsidiary", "hx"),
    ("hx-fin-corp", "企业金融部", "department", "hx-fin"),
    ("hx-fin-svc", "金融客户服务部", "department", "hx-fin"),
    ("hx-log", "华夏物流", "subsidiary", "hx"),
    ("hx-log-contract", "合同物流部", "department", "hx-log"),
    ("hx-log-mkt", "物流市场部", "department", "hx-log"),
    ("hx-tech", "华夏科技", "subsidiary", "hx"),
    ("hx-tech-sol", "解决方案部", "department", "hx-tech"),
    ("hx-tech-cs", "客户成功部", "department", "hx-tech"),
]

ALL = [
    "org.view",
    "org.create",
    "org.change",
    "org.delete",
    "org.admin",
    "announcements.view",
    "announcements.create",
    "announcements.change",
    "announcements.delete",
    "audit.view",
    "audit.export",
    "system.view",
    "system.admin",
]

# The customer and integration modules' permissions per demo role.

_CUSTOMERS_ALL = ("view", "create", "change", "delete", "export", "approve", "admin")
_CONTACTS_ALL = ("view", "create", "change", "delete", "export", "reveal_pii")
_FOLLOWUPS_ALL = ("view", "create", "change", "delete", "export")


def _perms(
    customers: tuple[str, ...], contacts: tuple[str, ...], followups: tuple[str, ...]
) -> list[str]:
    return (
        [f"customers.{a}" for a in customers]
        + [f"contacts.{a}" for a in contacts]
        + [f"followups.{a}" for a in followups]
    )


CRM_PERMISSIONS: dict[str, list[str]] = {
    "group_admin": _perms(_CUSTOMERS_ALL, _CONTACTS_ALL, _FOLLOWUPS_ALL),
    "group_kam": _perms(
        ("view", "create", "change", "export"),
        ("view", "create", "change", "reveal_pii"),
        ("view", "create", "change"),
    ),
    "analyst": _perms(("view", "export"), ("view",), ("view", "export")),
    "dpo": _perms(("view",), ("view", "export", "reveal_pii"), ("view",)),
    "bu_manager": _perms(
        _CUSTOMERS_ALL,
        ("view", "create", "change", "delete", "export", "reveal_pii"),
        _FOLLOWUPS_ALL,
    ),
    "sales_lead": _perms(
        ("view", "create", "change", "approve"),
        ("view", "create", "change", "delete", "reveal_pii"),
        ("view", "create", "change", "delete"),
    ),
    "account_manager": _perms(
        ("view", "create", "change"),
        ("view", "create", "change", "reveal_pii"),
        ("view", "create", "change"),
    ),
    "service_agent": _perms(
        ("view",), ("view", "create", "change", "reveal_pii"), ("view", "create", "change")
    ),
    "marketer": _perms(("view", "create"), ("view", "create"), ("view",)),
}
for _code, _actions in (
    ("group_admin", ("view", "create", "admin")),
    ("bu_manager", ("view", "create")),
    ("dpo", ("view",)),
):
    CRM_PERMISSIONS[_code] += [f"integration.{a}" for a in _actions]
# Sales: opportunities per role, and who decides approvals (discounts, expenses, conflicts).
for _code, _opportunities, _approvals in (
    (
        "group_admin",
        ("view", "create", "change", "delete", "export", "admin"),
        ("view", "approve", "admin"),
    ),
    ("group_kam", ("view", "create", "change", "export"), ("view", "approve")),
    ("analyst", ("view", "export"), ()),
    ("bu_manager", ("view", "create", "change", "delete", "export"), ("view", "approve")),
    ("sales_lead", ("view", "create", "change", "delete"), ("view", "approve")),
    ("account_manager", ("view", "create", "change"), ("view",)),
    ("marketer", ("view",), ()),
):
    CRM_PERMISSIONS[_code] += [f"opportunities.{a}" for a in _opportunities]
    CRM_PERMISSIONS[_code] += [f"approvals.{a}" for a in _approvals]
# The rest of sales, per role: (leads, referrals, conflicts, quotes, contracts, expenses,
# forecast). Conflicts are arbitrated ("approve") by the group's key-account managers.
_W = ("view", "create", "change")
_WD = ("view", "create", "change", "delete")
for _code, _sales in (
    (
        "group_admin",
        (
            ("view", "create", "change", "delete", "export", "admin"),
            _W,
            ("view", "create", "approve", "admin"),
            ("view", "create", "change", "delete", "export", "admin"),
            ("view", "create", "change", "delete", "export"),
            _WD,
            ("view", "export", "admin"),
        ),
    ),
    (
        "group_kam",
        (_W, _W, ("view", "create", "approve"), _W, ("view",), ("view",), ("view", "export")),
    ),
    (
        "analyst",
        (("view",), ("view",), ("view",), ("view",), ("view",), ("view",), ("view", "export")),
    ),
    (
        "bu_manager",
        (
            ("view", "create", "change", "delete", "export", "admin"),
            _W,
            ("view", "create"),
            ("view", "create", "change", "delete", "export", "admin"),
            ("view", "create", "change", "delete", "export"),
            _WD,
            ("view", "export", "admin"),
        ),
    ),
    ("sales_lead", (_WD, _W, ("view", "create"), _WD, _WD, _WD, ("view",))),
    ("account_manager", (_W, _W, ("view", "create"), _W, _W, _W, ("view",))),
    ("marketer", (("view", "create"), (), (), ("view",), (), (), ())),
):
    for _module, _actions in zip(
        ("leads", "referrals", "conflicts", "quotes", "contracts", "expenses", "forecast"),
        _sales,
        strict=True,
    ):
        CRM_PERMISSIONS[_code] += [f"{_module}.{a}" for a in _actions]

# (code, name, description, permissions, scope)
ROLES: list[tuple[str, str, str, list[str], str]] = [
    ("group_admin", "集团管理员", "Group administrator: everything, group-wide", ALL, "group"),
    (
        "group_kam",
        "集团大客户经理",
        "Group key-account manager: sees every BU's customers",
        ["org.view", "announcements.view", "announcements.create", "audit.view"],
        "group",
    ),
    (
        "analyst",
        "集团分析师",
        "Group analyst: reads across the group",
        ["org.view", "announcements.view", "audit.view"],
        "group",
    ),
    (
        "dpo",
        "数据保护官",
        "Data-protection officer: audit and privacy, group-wide",
        ["org.view", "announcements.view", "audit.view", "audit.export"],
        "group",
    ),
    (
        "bu_manager",
        "子公司总经理",
        "BU manager: manages the BU and everything below it",
        [
            "org.view",
            "org.create",
            "org.change",
            "org.admin",
            "announcements.view",
            "announcements.create",
            "announcements.change",
            "announcements.delete",
            "audit.view",
        ],
        "subtree",
    ),
    (
        "sales_lead",
        "销售主管",
        "Sales lead: the team's records",
        [
            "org.view",
            "announcements.view",
            "announcements.create",
            "announcements.change",
            "audit.view",
        ],
        "team",
    ),
    (
        "account_manager",
        "客户经理",
        "Account manager: own records",
        ["org.view", "announcements.view"],
        "own",
    ),
    (
        "service_agent",
        "客服专员",
        "Service agent: own records",
        ["org.view", "announcements.view"],
        "own",
    ),
    (
        "marketer",
        "市场专员",
        "Marketer: the team's campaigns",
        ["org.view", "announcements.view", "announcements.create"],
        "team",
    ),
]


@dataclass(frozen=True)
class DemoUser:
    username: str
    name: str
    unit: str
    role: str
    title: str

    @property
    def role_label(self) -> str:
        return next(r[1] for r in ROLES if r[0] == self.role)


DEMO_USERS: list[DemoUser] = [
    DemoUser("admin", "王建国", "hx", "group_admin", "信息化总监"),
    DemoUser("zhouhui", "周慧", "hx-hq-ka", "group_kam", "大客户总监"),
    DemoUser("linna", "林娜", "hx-hq-ka", "group_kam", "大客户经理"),
    DemoUser("chenjing", "陈静", "hx-hq-data", "analyst", "数据分析师"),
    DemoUser("heyu", "何宇", "hx-hq-data", "analyst", "数据分析师"),
    DemoUser("sunli", "孙丽", "hx-hq-sec", "dpo", "数据保护官"),
    DemoUser("liqiang", "李强", "hx-mfg", "bu_manager", "华夏制造总经理"),
    DemoUser("zhaolei", "赵磊", "hx-mfg-east", "sales_lead", "华东销售总监"),
    DemoUser("zhangwei", "张伟", "hx-mfg-east-sh", "account_manager", "客户经理"),
    DemoUser("liuyang", "刘洋", "hx-mfg-east-sh", "account_manager", "客户经理"),
    DemoUser("wangfang", "王芳", "hx-mfg-south", "account_manager", "客户经理"),
    DemoUser("xuming", "徐明", "hx-mfg-svc", "service_agent", "客服专员"),
    DemoUser("gaojie", "高洁", "hx-mfg", "marketer", "市场专员"),
    DemoUser("huangmin", "黄敏", "hx-fin", "bu_manager", "华夏金融总经理"),
    DemoUser("wutao", "吴涛", "hx-fin-corp", "sales_lead", "企业金融部总监"),
    DemoUser("zhengshuang", "郑爽", "hx-fin-corp", "account_manager", "客户经理"),
    DemoUser("fengyan", "冯艳", "hx-fin-corp", "account_manager", "客户经理"),
    DemoUser("tangjun", "唐军", "hx-fin-svc", "service_agent", "客服专员"),
    DemoUser("mali", "马丽", "hx-log", "bu_manager", "华夏物流总经理"),
    DemoUser("hanbing", "韩冰", "hx-log-contract", "account_manager", "客户经理"),
    DemoUser("caoxue", "曹雪", "hx-log-contract", "account_manager", "客户经理"),
    DemoUser("yuanhao", "袁浩", "hx-log-mkt", "marketer", "市场经理"),
    DemoUser("denghua", "邓华", "hx-tech", "bu_manager", "华夏科技总经理"),
    DemoUser("xieping", "谢平", "hx-tech-sol", "sales_lead", "解决方案总监"),
    DemoUser("songjia", "宋佳", "hx-tech-sol", "account_manager", "客户经理"),
    DemoUser("luyao", "陆瑶", "hx-tech-sol", "account_manager", "客户经理"),
    DemoUser("jiangtao", "蒋涛", "hx-tech-cs", "service_agent", "客户成功经理"),
    DemoUser("panyue", "潘悦", "hx-tech", "marketer", "市场专员"),
    DemoUser("qianyi", "钱毅", "hx-mfg-east", "account_manager", "客户经理"),
    DemoUser("yangxue", "杨雪", "hx-fin-corp", "marketer", "市场专员"),
]

ANNOUNCEMENTS = [
    (
        "admin",
        "hx",
        "集团客户管理系统上线",
        "groupcrm 今日起在全集团启用。"
        "请各子公司于本月底前完成客户数据迁移，并为账号开启双因素认证。",
        True,
    ),
    (
        "liqiang",
        "hx-mfg",
        "华夏制造第四季度客户拜访计划",
        "请各销售部在周五前提交重点客户拜访计划，服务部同步安排回访。",
        False,
    ),
    (
        "huangmin",
        "hx-fin",
        "企业金融部客户信息保护提醒",
        "客户联系人手机号、邮箱属于个人信息，导出须经审批，严禁私自外传。",
        False,
    ),
]


def demo_exists() -> bool:
    return BusinessUnit.objects.exists()


@transaction.atomic
def build_demo() -> dict[str, int]:
    system = Actor.system("demo")
    units: dict[str, BusinessUnit] = {}
    for code, name, kind, parent in UNITS:
        units[code] = bu_create(
            actor=system,
            name=name,
            code=code,
            kind=kind,
            parent_id=units[parent].pk if parent else None,
        )
    roles: dict[str, Role] = {}
    for code, name, description, perms, scope in ROLES:
        perms = perms + CRM_PERMISSIONS.get(code, [])
        roles[code] = role_create(
            actor=system,
            name=name,
            code=code,
            description=description,
            permissions=perms,
            data_scope=scope,
        )
    users: dict[str, User] = {}
    for person in DEMO_USERS:
        users[person.username] = user_create(
            actor=system,
            username=person.username,
            password=settings.DEMO_PASSWORD,
            bu_id=units[person.unit].pk,
            role_id=roles[person.role].pk,
            display_name=person.name,
            email=f"{person.username}@huaxia-demo.cn",
            title=person.title,
        )
    for username, unit, title, body, pinned in ANNOUNCEMENTS:
        announcement_create(
            actor=Actor(users[username]),
            title=title,
            body=body,
            bu_id=units[unit].pk,
            pinned=pinned,
        )
    return {"units": len(units), "roles": len(roles), "users": len(users)}
