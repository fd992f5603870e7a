"""Column mapping: which column of a file feeds which field. Suggestions come from the
headers (Chinese and English names people use), and three CRMs' export formats ship
ready-made so that a group migrating from them imports without mapping by hand."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

if TYPE_CHECKING:
    from groupcrm.integration.models import ImportSource

# Target fields per entity, with their label and whether a file must provide them.
TARGETS: dict[str, dict[str, tuple[Promise, bool]]] = {
    "customers": {
        "external_id": (gettext_lazy("ID in the source system"), False),
        "legal_name": (gettext_lazy("legal name"), True),
        "short_name": (gettext_lazy("short name"), False),
        "uscc": (gettext_lazy("unified social credit code"), False),
        "industry": (gettext_lazy("industry"), False),
        "employees": (gettext_lazy("employees"), False),
        "annual_revenue": (gettext_lazy("annual revenue (10k CNY)"), False),
        "address": (gettext_lazy("address"), False),
        "website": (gettext_lazy("website"), False),
        "group_grade": (gettext_lazy("group grade"), False),
        "tags": (gettext_lazy("tags"), False),
        "parent_external_id": (gettext_lazy("parent company's ID in the source"), False),
        "parent_name": (gettext_lazy("parent company's name"), False),
        "owner": (gettext_lazy("account manager (username or email)"), False),
    },
    "contacts": {
        "external_id": (gettext_lazy("ID in the source system"), False),
        "customer_external_id": (gettext_lazy("company's ID in the source"), False),
        "customer_name": (gettext_lazy("company name"), False),
        "customer_uscc": (gettext_lazy("company's credit code"), False),
        "name": (gettext_lazy("name"), True),
        "title": (gettext_lazy("job title"), False),
        "department": (gettext_lazy("department"), False),
        "mobile": (gettext_lazy("mobile phone"), False),
        "phone": (gettext_lazy("office phone"), False),
        "email": (gettext_lazy("email"), False),
        "wechat_id": (gettext_lazy("WeChat ID"), False),
    },
    "followups": {
        "external_id": (gettext_lazy("ID in the source system"), False),
        "customer_external_id": (gettext_lazy("company's ID in the source"), False),
        "customer_name": (gettext_lazy("company name"), False),
        "customer_uscc": (gettext_lazy("company's credit code"), False),
        "occurred_at": (gettext_lazy("time"), True),
        "kind": (gettext_lazy("type"), False),
        "content": (gettext_lazy("content"), True),
        "outcome": (gettext_lazy("outcome"), False),
        "next_step": (gettext_lazy("next step"), False),
        "next_due": (gettext_lazy("next step due"), False),
        "location": (gettext_lazy("check-in location"), False),
        "author": (gettext_lazy("author (username or email)"), False),
        "contacts": (gettext_lazy("contacts (the company's, by name)"), False),
    },
    "relationships": {
        "external_id": (gettext_lazy("ID in the source system"), False),
        "customer_external_id": (gettext_lazy("company's ID in the source"), False),
        "customer_name": (gettext_lazy("company name"), False),
        "customer_uscc": (gettext_lazy("company's credit code"), False),
        "owner": (gettext_lazy("account manager (username or email)"), False),
        "stage": (gettext_lazy("stage"), False),
        "grade": (gettext_lazy("unit grade"), False),
        "notes": (gettext_lazy("internal notes"), False),
        "protected_until": (gettext_lazy("protected until"), False),
    },
}

# Header spellings seen in the wild, compared after lower-casing and dropping spaces,
# underscores and punctuation.
SYNONYMS: dict[str, dict[str, list[str]]] = {
    "customers": {
        "external_id": ["id", "recordid", "客户编号", "客户id", "编号", "accountid", "外部编号"],
        "legal_name": [
            "客户名称",
            "公司名称",
            "企业名称",
            "单位名称",
            "客户全称",
            "名称",
            "accountname",
            "company",
            "companyname",
            "name",
            "legalname",
        ],
        "short_name": ["简称", "客户简称", "shortname", "alias"],
        "uscc": ["统一社会信用代码", "社会信用代码", "信用代码", "uscc", "税号", "纳税人识别号"],
        "industry": ["行业", "所属行业", "行业代码", "industry"],
        "employees": ["员工人数", "人数", "employees", "numberofemployees"],
        "annual_revenue": ["年营业额", "年收入", "营业收入", "annualrevenue"],
        "address": ["地址", "详细地址", "公司地址", "注册地址", "billingstreet", "address"],
        "website": ["网址", "官网", "公司网址", "website"],
        "group_grade": ["集团分级", "客户分级", "grade", "rating"],
        "tags": ["标签", "tags"],
        "parent_external_id": ["上级客户编号", "母公司编号", "parentid", "parentaccountid"],
        "parent_name": ["上级客户", "母公司", "上级公司", "parentaccount", "parentname"],
        "owner": ["负责人", "客户经理", "所有人", "owner", "accountowner", "ownerid"],
    },
    "contacts": {
        "external_id": ["id", "recordid", "联系人编号", "contactid"],
        "customer_external_id": ["客户编号", "accountid", "公司编号"],
        "customer_name": ["客户名称", "公司名称", "accountname", "company"],
        "customer_uscc": ["统一社会信用代码", "信用代码"],
        "name": ["姓名", "联系人", "联系人姓名", "name", "fullname", "contactname"],
        "title": ["职务", "职位", "title", "jobtitle"],
        "department": ["部门", "department"],
        "mobile": ["手机", "手机号", "手机号码", "mobile", "mobilephone"],
        "phone": ["电话", "办公电话", "座机", "phone", "officephone"],
        "email": ["邮箱", "电子邮箱", "邮件", "email", "emailaddress"],
        "wechat_id": ["微信", "微信号", "wechat"],
    },
    "followups": {
        "external_id": ["id", "recordid", "跟进记录编号", "记录编号", "activityid", "taskid"],
        "customer_external_id": ["客户编号", "accountid", "whatid", "公司编号"],
        "customer_name": ["客户名称", "关联客户", "客户", "公司名称", "accountname", "company"],
        "customer_uscc": ["统一社会信用代码", "信用代码"],
        "occurred_at": [
            "跟进时间",
            "跟进日期",
            "拜访时间",
            "时间",
            "日期",
            "activitydate",
            "date",
            "createdtime",
            "createddate",
        ],
        "kind": ["跟进方式", "跟进类型", "方式", "类型", "type", "activitytype", "tasksubtype"],
        "content": [
            "跟进内容",
            "记录内容",
            "内容",
            "描述",
            "description",
            "comments",
            "notes",
            "content",
            "subject",
        ],
        "outcome": ["跟进结果", "结果", "outcome", "result"],
        "next_step": ["下一步", "下一步计划", "下次跟进", "nextstep"],
        "next_due": ["下次跟进时间", "下次跟进日期", "下一步日期", "nextdue", "duedate"],
        "location": ["签到地点", "地点", "位置", "location"],
        "author": ["跟进人", "记录人", "创建人", "负责人", "owner", "ownerid", "createdby"],
        "contacts": ["联系人", "联系人姓名", "参与人", "拜访对象", "contact", "contactname"],
    },
    "relationships": {
        # Not "id": in an accounts export that is the company's id, the same in every unit.
        "external_id": ["关系编号", "客户关系编号", "relationshipid"],
        "customer_external_id": [
            "客户编号",
            "客户id",
            "公司编号",
            "id",
            "recordid",
            "accountid",
            "accountname.id",
        ],
        "customer_name": ["客户名称", "公司名称", "客户", "accountname", "company", "name"],
        "customer_uscc": ["统一社会信用代码", "社会信用代码", "信用代码", "uscc"],
        "owner": ["负责人", "客户经理", "所有人", "owner", "accountowner", "ownerid"],
        # Not an account's "type" (Zoho, Salesforce): competitor, partner… are no stages.
        "stage": ["阶段", "关系阶段", "客户阶段", "成交状态", "stage"],
        "grade": ["等级", "客户等级", "客户级别", "单元分级", "分级", "rating", "grade"],
        "notes": ["备注", "内部备注", "描述", "description", "notes"],
        "protected_until": ["保护期至", "保护期", "protecteduntil"],
    },
}

# Ready mappings for the standard exports of other CRMs (column names as exported).
PRESETS: dict[str, dict[str, dict[str, str]]] = {
    "zoho": {
        "customers": {
            "external_id": "Record Id",
            "legal_name": "Account Name",
            "website": "Website",
            "industry": "Industry",
            "employees": "Employees",
            "annual_revenue": "Annual Revenue",
            "address": "Billing Street",
            "parent_external_id": "Parent Account.id",
            "parent_name": "Parent Account",
            "owner": "Account Owner",
        },
        "contacts": {
            "external_id": "Record Id",
            "customer_external_id": "Account Name.id",
            "customer_name": "Account Name",
            "name": "Full Name",
            "title": "Title",
            "department": "Department",
            "mobile": "Mobile",
            "phone": "Phone",
            "email": "Email",
        },
        "relationships": {
            "customer_external_id": "Record Id",
            "customer_name": "Account Name",
            "owner": "Account Owner",
            "grade": "Rating",
            "notes": "Description",
        },
    },
    "salesforce": {
        "customers": {
            "external_id": "Id",
            "legal_name": "Name",
            "website": "Website",
            "industry": "Industry",
            "employees": "NumberOfEmployees",
            "annual_revenue": "AnnualRevenue",
            "address": "BillingStreet",
            "parent_external_id": "ParentId",
            "owner": "OwnerId",
        },
        "contacts": {
            "external_id": "Id",
            "customer_external_id": "AccountId",
            "name": "Name",
            "title": "Title",
            "department": "Department",
            "mobile": "MobilePhone",
            "phone": "Phone",
            "email": "Email",
        },
        "relationships": {
            "customer_external_id": "Id",
            "customer_name": "Name",
            "owner": "OwnerId",
            "grade": "Rating",
            "notes": "Description",
        },
    },
    "fxiaoke": {
        "customers": {
            "external_id": "客户编号",
            "legal_name": "客户名称",
            "uscc": "统一社会信用代码",
            "industry": "行业",
            "address": "详细地址",
            "website": "网址",
            "parent_name": "上级客户",
            "owner": "负责人",
        },
        "contacts": {
            "external_id": "联系人编号",
            "customer_name": "客户名称",
            "name": "姓名",
            "title": "职务",
            "department": "部门",
            "mobile": "手机",
            "phone": "电话",
            "email": "邮箱",
            "wechat_id": "微信",
        },
        "relationships": {
            "customer_external_id": "客户编号",
            "customer_name": "客户名称",
            "customer_uscc": "统一社会信用代码",
            "owner": "负责人",
            "stage": "成交状态",
            "grade": "客户级别",
            "notes": "备注",
        },
    },
}


def _key(header: str) -> str:
    return re.sub(r"[\s_\-.:：（）()]+", "", header).lower()


def suggest(headers: list[str], entity: str, kind: str = "generic") -> dict[str, str]:
    """A mapping target → column for these headers: the preset of a known CRM where its
    columns are present, else by header spelling."""
    present = set(headers)
    mapping = {
        target: column
        for target, column in PRESETS.get(kind, {}).get(entity, {}).items()
        if column in present
    }
    by_key = {_key(h): h for h in headers if h}
    for target, spellings in SYNONYMS[entity].items():
        if target in mapping:
            continue
        for spelling in spellings:
            if (column := by_key.get(_key(spelling))) and column not in mapping.values():
                mapping[target] = column
                break
    return mapping


def mapping_for(source: ImportSource, entity: str, headers: list[str]) -> dict[str, str]:
    """The mapping an import uses when it brings none of its own: the one saved on the
    source for the entity, else one suggested from the file's headers."""
    return source.mappings.get(entity) or suggest(headers, entity, source.kind)


def check(mapping: dict[str, str], headers: list[str], entity: str) -> list[str]:
    """What is wrong with a mapping for this file, as messages (empty when fine)."""
    problems = []
    present = set(headers)
    for target, column in mapping.items():
        if target not in TARGETS[entity]:
            problems.append(
                _("“%(field)s” is not a field that can be imported.") % {"field": target}
            )
        elif column and column not in present:
            problems.append(
                _("The mapping names the column “%(column)s”, which the file does not have.")
                % {"column": column}
            )
    for target, (label, required) in TARGETS[entity].items():
        if required and not mapping.get(target):
            problems.append(_("Map a column to the required field “%(field)s”.") % {"field": label})
    return problems
