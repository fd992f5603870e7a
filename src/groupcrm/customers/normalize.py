"""Normalisation of customer data: credit codes, company names, phones, e-mails and regions.

Pure functions with no database access. Each ``normalize_*`` function either returns the
canonical form of its input or raises ``ValueError`` whose message is translated, ready to
show next to a form field; no other exception escapes for bad input.

The company-name keys are for comparing names, not for display: they are lower-case, have
no whitespace or punctuation and no accents, and the legal form is taken off the end.
"""

from __future__ import annotations

import functools
import random
import re
import string
import unicodedata
from collections import Counter
from types import ModuleType

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils.translation import gettext as _

# ---------------------------------------------------------------------------------------------
# 统一社会信用代码 (unified social credit code, GB 32100-2015)
# ---------------------------------------------------------------------------------------------

#: The 31 characters a unified social credit code may use (no I, O, Z, S, V), in value order.
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUES = {char: value for value, char in enumerate(USCC_CHARSET)}
#: Weight of position i (0-based) among the first 17 characters: 3^i mod 31.
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))

#: 组织机构代码 (GB 11714-1997): weights of the 8 body characters.
_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

#: 登记管理机关行政区划码 used by ``make_uscc``: real county- or city-level codes.
_DEMO_REGION_CODES = (
    "110105",  # 北京市朝阳区
    "110108",  # 北京市海淀区
    "120116",  # 天津市滨海新区
    "310104",  # 上海市徐汇区
    "310115",  # 上海市浦东新区
    "320505",  # 苏州市虎丘区
    "330106",  # 杭州市西湖区
    "350102",  # 福州市鼓楼区
    "370202",  # 青岛市市南区
    "420106",  # 武汉市武昌区
    "430104",  # 长沙市岳麓区
    "440106",  # 广州市天河区
    "440300",  # 深圳市
    "440305",  # 深圳市南山区
    "500103",  # 重庆市渝中区
    "510107",  # 成都市武侯区
    "610113",  # 西安市雁塔区
)


def _unexpected_uscc_char(char: str) -> ValueError:
    return ValueError(
        _("Unexpected character “%(char)s” in the unified social credit code.") % {"char": char}
    )


def uscc_check_digit(first17: str) -> str:
    """The 18th character of a unified social credit code, from its first 17 (GB 32100-2015).

    Each character has the value of its index in ``USCC_CHARSET``; position i (0-based)
    weighs 3^i mod 31 and the check character is the one whose value is
    ``(31 - weighted sum mod 31) mod 31``.

    >>> uscc_check_digit("91350100M000100Y4")
    '3'
    """
    if len(first17) != 17:
        raise ValueError(_("The check digit is computed from the first 17 characters of the code."))
    total = 0
    for char, weight in zip(first17, _USCC_WEIGHTS, strict=True):
        value = _USCC_VALUES.get(char)
        if value is None:
            raise _unexpected_uscc_char(char)
        total += value * weight
    return USCC_CHARSET[-total % 31]


def normalize_uscc(raw: str) -> str:
    """The canonical form of a unified social credit code, or ``ValueError``.

    Full-width characters become half-width, whitespace goes and letters are upper-cased;
    then the charset, the length (18) and the check digit are verified. The structure of the
    first 17 characters (登记管理部门码, 机构类别码, 行政区划码, 主体标识码) is not checked:
    the check digit already catches any single mistyped character.

    >>> normalize_uscc(" 91350100m000100y43 ")
    '91350100M000100Y43'
    """
    code = "".join(unicodedata.normalize("NFKC", raw).split()).upper()
    for char in code:
        if char not in _USCC_VALUES:
            raise _unexpected_uscc_char(char)
    if len(code) != 18:
        raise ValueError(_("A unified social credit code has 18 characters."))
    if uscc_check_digit(code[:17]) != code[17]:
        raise ValueError(_("The check digit of this unified social credit code is wrong."))
    return code


def _org_code_check_digit(body: str) -> str:
    """Check character of an 8-character 组织机构代码 body (GB 11714-1997): 0-9 or X."""
    check = (
        11 - sum(int(char, 36) * w for char, w in zip(body, _ORG_CODE_WEIGHTS, strict=True)) % 11
    )
    return {10: "X", 11: "0"}.get(check, str(check))


def make_uscc(rng: random.Random) -> str:
    """A random, valid and realistic unified social credit code, for demo and benchmark data.

    ``9`` (registered by 市场监管), then ``1`` 企业 / ``2`` 个体工商户 / ``3`` 农民专业合作社,
    a real administrative region code, a 9-character 组织机构代码 with its own GB 11714 check
    character (half of them in the post-2015 ``MA…`` series), then the check digit.
    """
    category = rng.choices("123", weights=(8, 1, 1))[0]
    region = rng.choice(_DEMO_REGION_CODES)
    if rng.random() < 0.5:
        body = "MA" + "".join(rng.choices(USCC_CHARSET, k=6))
    else:
        body = "".join(rng.choices(string.digits, k=8))
    first17 = "9" + category + region + body + _org_code_check_digit(body)
    return first17 + uscc_check_digit(first17)


# ---------------------------------------------------------------------------------------------
# Company names
# ---------------------------------------------------------------------------------------------

#: Threshold of ``name_similarity`` from which two names are worth showing as possible
#: duplicates. Dice similarity of character bigrams: 华夏制造 / 华夏制造集团 score 0.75,
#: 华夏制造 / 华夏智造 0.33, unrelated names usually 0.
SIMILAR_NAME_THRESHOLD = 0.6

#: Legal forms taken off the end of a name, in matching-key form (no spaces, lower case).
#: Latin forms only count where a word starts, so "Tesco" keeps its "co".
_CJK_LEGAL_FORMS = (
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "股份公司",
    "有限合伙",
    "普通合伙",
    "公司",
)
_LATIN_LEGAL_FORMS = (
    "companylimited",
    "colimited",
    "coltd",
    "pteltd",
    "corporation",
    "incorporated",
    "limited",
    "company",
    "corp",
    "gmbh",
    "ltd",
    "inc",
    "llc",
    "plc",
    "co",
)
_LEGAL_FORMS = sorted(
    [(form, False) for form in _CJK_LEGAL_FORMS] + [(form, True) for form in _LATIN_LEGAL_FORMS],
    key=lambda item: -len(item[0]),
)

#: A branch part after the legal form: 华夏制造有限公司|上海|分公司. The first legal form
#: counts; the 公司 of a 分公司 is not one.
_BRANCH_WORDS = ("分公司", "分店", "分行", "支行", "办事处", "代表处", "营业部")
_BRANCH_AFTER_LEGAL_FORM = re.compile(
    "^(.+?(?:股份有限公司|有限责任公司|有限公司|股份公司|(?<!分)公司)).+(?:"
    + "|".join(_BRANCH_WORDS)
    + ")$"
)
#: Region names of cpca's data that are placeholders, not places.
_REGION_PLACEHOLDERS = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
_REGION_SHORT_NAMES = {
    "内蒙古自治区": "内蒙古",
    "广西壮族自治区": "广西",
    "西藏自治区": "西藏",
    "宁夏回族自治区": "宁夏",
    "新疆维吾尔自治区": "新疆",
    "香港特别行政区": "香港",
    "澳门特别行政区": "澳门",
}
_REGION_SUFFIX = re.compile("(?:新区|地区|省|市|区|县|盟|旗)$")


# A pure function of the name, cached: saving a record reads one name up to four times
# (validation, name key, base key, 拼音).
@functools.lru_cache(maxsize=4096)
def _words(name: str) -> tuple[str, frozenset[int]]:
    """The letters and digits of ``name`` in key form, and where its words start.

    Compatibility decomposition turns full-width characters into half-width ones; accents
    and other combining marks go; everything that is not a letter or a digit (spaces,
    punctuation of any script, symbols) separates words and is dropped.
    """
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", name).lower())
    words = re.split(
        r"\s+",
        "".join(
            char if unicodedata.category(char)[0] in "LN" else " "
            for char in text
            if not unicodedata.category(char).startswith("M")
        ).strip(),
    )
    starts = set()
    position = 0
    for word in words:
        starts.add(position)
        position += len(word)
    return "".join(words), frozenset(starts)


def _starts_word(key: str, index: int, starts: frozenset[int]) -> bool:
    return index in starts or not (key[index - 1].isascii() and key[index - 1].isalnum())


def _legal_form_suffix(key: str, starts: frozenset[int]) -> str:
    """The longest legal form at the end of ``key``, or ""."""
    for form, latin in _LEGAL_FORMS:
        if not key.endswith(form):
            continue
        index = len(key) - len(form)
        if form == "公司" and key[index - 1 : index] == "分":
            continue
        if latin and not _starts_word(key, index, starts):
            continue
        return form
    return ""


def _strip_legal_forms(key: str, starts: frozenset[int]) -> str:
    """``key`` without legal forms at its end (repeatedly), unless that would leave nothing."""
    while True:
        suffix = _legal_form_suffix(key, starts)
        if not suffix or suffix == key:
            return key
        key = key[: -len(suffix)]


@functools.lru_cache(maxsize=4096)  # pure, and read up to three times per record saved
def normalize_company_name(name: str) -> str:
    """The matching key of a company name: equal keys mean the same legal name.

    Full-width → half-width, lower-case, no whitespace, punctuation or symbols (the content
    of brackets stays), and without legal forms at the end (股份有限公司, 有限责任公司,
    有限公司, 股份公司, 有限合伙, 公司, Co., Ltd., Limited, Inc., Corp., LLC, GmbH…). Words
    like 集团 and 分公司 stay: a branch is not its head office.

    >>> normalize_company_name("华夏制造(集团)股份有限公司")
    '华夏制造集团'
    >>> normalize_company_name("HUAXIA  Trading Co., Ltd.")
    'huaxiatrading'
    >>> normalize_company_name("华夏制造有限公司上海分公司")
    '华夏制造有限公司上海分公司'
    """
    key, starts = _words(name)
    return _strip_legal_forms(key, starts)


@functools.cache
def _cpca() -> ModuleType:
    """cpca, imported on first use: it reads its region table when imported."""
    import cpca

    return cpca


@functools.cache
def _place_names() -> frozenset[str]:
    """Names of provinces, cities and districts, in full and short (上海市 and 上海)."""
    names = set()
    for region in _cpca().ad_2_addr_dict.values():
        if region.name in _REGION_PLACEHOLDERS:
            continue
        names.add(region.name)
        short = _REGION_SHORT_NAMES.get(region.name) or _REGION_SUFFIX.sub("", region.name)
        if len(short) >= 2:
            names.add(short)
    return frozenset(names)


def _strip_branch(key: str) -> str:
    """``key`` without one branch part at its end, if it has one."""
    match = _BRANCH_AFTER_LEGAL_FORM.match(key)
    if match:
        return match.group(1)
    for word in _BRANCH_WORDS:
        if key.endswith(word):
            head = key[: -len(word)]
            places = _place_names()
            # The longest place name that leaves something of the name in front of it.
            for size in range(len(head) - 1, 1, -1):
                if head[-size:] in places:
                    return head[:-size]
    return key


def base_company_name(name: str) -> str:
    """The matching key of the company a name belongs to: branches share their head office's.

    Like ``normalize_company_name``, and also without a branch part at the end: whatever
    follows the first legal form when the name ends in 分公司, 分店, 分行, 支行, 办事处,
    代表处 or 营业部, or a place name (a province, city or district, in full or short)
    directly before such a word. Idempotent, so it also accepts its own keys.

    >>> base_company_name("华夏制造有限公司上海分公司") == base_company_name("华夏制造有限公司")
    True
    >>> base_company_name("华夏制造有限公司")
    '华夏制造'
    >>> base_company_name("华夏制造上海分公司")
    '华夏制造'
    >>> base_company_name("中国工商银行股份有限公司北京西单支行")
    '中国工商银行'
    >>> base_company_name("华夏制造第一分公司")  # no place, no legal form: kept as it is
    '华夏制造第一分公司'
    """
    key, starts = _words(name)
    while True:
        stripped = _strip_legal_forms(_strip_branch(key), starts)
        if stripped == key:
            return key
        key = stripped


def _ascii_letters_and_digits(text: str) -> list[str]:
    return [char for char in text.lower() if char.isascii() and char.isalnum()]


def name_pinyin(name: str) -> tuple[str, str]:
    """The 拼音 of a company name without tones or spaces, and its initials, for search.

    Computed on ``normalize_company_name(name)``, so without the legal form; Latin letters
    and digits are kept (lower-case), any other character that has no 拼音 is left out.

    >>> name_pinyin("华夏制造有限公司")
    ('huaxiazhizao', 'hxzz')
    >>> name_pinyin("华夏3D打印 Co., Ltd.")
    ('huaxia3ddayin', 'hx3ddy')
    """
    from pypinyin.core import _default_pinyin  # its phrase dictionary takes a while to load

    # pypinyin cuts a text into words and reads each word on its own, so reading the
    # words through a cache gives the same result five times faster (company names
    # share most of their words: an import reads a million names).
    words = [_word_pinyin(word) for word in _default_pinyin.seg(normalize_company_name(name))]
    return "".join(full for full, _initials in words), "".join(i for _full, i in words)


@functools.lru_cache(maxsize=200_000)
def _word_pinyin(word: str) -> tuple[str, str]:
    from pypinyin import Style
    from pypinyin.core import _default_convert

    full, initials = (
        _default_convert.convert(word, style, False, _ascii_letters_and_digits, strict=True)
        for style in (Style.NORMAL, Style.FIRST_LETTER)
    )
    return "".join(p[0] for p in full), "".join(p[0] for p in initials)


def _bigrams(key: str) -> Counter[str]:
    if len(key) < 2:
        return Counter([key] if key else [])
    return Counter(key[i : i + 2] for i in range(len(key) - 1))


def name_similarity(a: str, b: str) -> float:
    """How alike two company names are, from 0 to 1, on their base names.

    The Dice coefficient of the character bigrams of ``base_company_name(a)`` and
    ``base_company_name(b)`` (a one-character name is its own bigram); 0 when either is
    empty. See ``SIMILAR_NAME_THRESHOLD``.

    >>> name_similarity("华夏制造有限公司", "华夏制造有限公司上海分公司")
    1.0
    >>> name_similarity("华夏制造有限公司", "华夏制造集团有限公司")
    0.75
    """
    first, second = _bigrams(base_company_name(a)), _bigrams(base_company_name(b))
    total = first.total() + second.total()
    if not total:
        return 0.0
    return 2 * (first & second).total() / total


# ---------------------------------------------------------------------------------------------
# Phones and e-mail addresses
# ---------------------------------------------------------------------------------------------


def normalize_phone(raw: str, region: str = "CN") -> str:
    """A phone number in E.164 form (``+8613800138000``), or ``ValueError``.

    Numbers without a country code are read as numbers of ``region``; fixed lines need their
    area code (``021-6888 8888``). Numbers with an extension are refused: E.164 cannot keep it.

    >>> normalize_phone("138 0013 8000")
    '+8613800138000'
    >>> normalize_phone("021-6888 8888")
    '+862168888888'
    """
    invalid = ValueError(_("This is not a valid phone number."))
    try:
        number = phonenumbers.parse(unicodedata.normalize("NFKC", raw), region.upper())
    except phonenumbers.NumberParseException as exc:
        raise invalid from exc
    if not phonenumbers.is_valid_number(number):
        raise invalid
    if number.extension:
        raise ValueError(_("Enter the phone number without an extension."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_EMAIL_VALIDATOR = EmailValidator()


def normalize_email(raw: str) -> str:
    """An e-mail address with surrounding whitespace gone and its domain lower-cased.

    Full-width characters (a Chinese IME's @ and .) become half-width; the local part keeps
    its case. It must have one @, no whitespace, a domain with a dot, and pass Django's
    ``EmailValidator``.

    >>> normalize_email(" Li.Lei@Example.COM ")
    'Li.Lei@example.com'
    """
    invalid = ValueError(_("Enter a valid email address with a domain, e.g. name@example.com."))
    text = unicodedata.normalize("NFKC", raw).strip()
    local, _at, domain = text.partition("@")
    if text.count("@") != 1 or not local or "." not in domain:
        raise invalid
    if any(char.isspace() for char in text):
        raise invalid
    email = f"{local}@{domain.lower()}"
    try:
        _EMAIL_VALIDATOR(email)
    except ValidationError as exc:
        raise invalid from exc
    return email


# ---------------------------------------------------------------------------------------------
# Regions
# ---------------------------------------------------------------------------------------------

_MUNICIPALITIES = frozenset({"北京市", "天津市", "上海市", "重庆市"})
#: What cpca gives as the city of county-level cities run by the province (仙桃市, 石河子市).
_PROVINCE_RUN = frozenset({"省直辖县级行政区划", "自治区直辖县级行政区划"})


def parse_region(address: str) -> tuple[str, str, str]:
    """(province, city, district) of a Chinese address, "" for each part not found.

    Uses cpca. Its placeholders are replaced: the city of a municipality is the
    municipality itself (cpca says 市辖区 or 县), and the city of a county-level city
    that the province runs directly is that city (cpca says 省直辖县级行政区划).

    >>> parse_region("上海市浦东新区世纪大道100号")
    ('上海市', '上海市', '浦东新区')
    >>> parse_region("湖北省仙桃市")
    ('湖北省', '仙桃市', '仙桃市')
    """
    return parse_regions([address])[0]


def parse_regions(addresses: list[str]) -> list[tuple[str, str, str]]:
    """``parse_region`` of many addresses in one call: cpca's cost is mostly per call
    (about 0.5 ms), so a batch costs about 12 µs an address."""
    if not addresses:
        return []
    frame = _cpca().transform(addresses)
    regions = []
    for province, city, district in zip(frame["省"], frame["市"], frame["区"], strict=True):
        province, city, district = (
            value if isinstance(value, str) else "" for value in (province, city, district)
        )
        if province in _MUNICIPALITIES:
            city = province
        elif city in _PROVINCE_RUN:
            city = district
        regions.append((province, city, district))
    return regions
