"""Customer data normalisation (customers.normalize) and the GB/T 4754 reference data."""

from __future__ import annotations

import contextlib
import doctest
import random
from collections.abc import Callable, Iterator
from types import ModuleType

import pytest
from django.utils import translation
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from groupcrm.customers import normalize, reference
from groupcrm.customers.normalize import (
    SIMILAR_NAME_THRESHOLD,
    USCC_CHARSET,
    base_company_name,
    make_uscc,
    name_pinyin,
    name_similarity,
    normalize_company_name,
    normalize_email,
    normalize_phone,
    normalize_uscc,
    parse_region,
    uscc_check_digit,
)

# pypinyin, phonenumbers and cpca load data on first use: no per-example deadline.
relaxed = settings(deadline=None)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """Messages are compared with their English msgids."""
    with translation.override("en"):
        yield


@pytest.mark.parametrize("module", [normalize, reference])
def test_docstring_examples(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.failed == 0


# --- 统一社会信用代码 -----------------------------------------------------------------------

# Codes as published (company registers, and the example code quoted with GB 32100).
# Each passes the check digit, which a wrong code does only by a 1-in-31 chance, and its
# characters 9–17 pass the GB 11714 check of the organisation code too.
PUBLISHED_USCCS = [
    "91350100M000100Y43",  # the example code quoted in descriptions of GB 32100
    "91110000600037341L",
    "91440300708461136T",  # 深圳市腾讯计算机系统有限公司
    "91110108551385082Q",  # 北京小米科技有限责任公司
    "914403001922038216",  # 华为技术有限公司
]


@pytest.mark.parametrize("code", PUBLISHED_USCCS)
def test_published_codes_are_valid(code: str) -> None:
    assert normalize_uscc(code) == code
    assert uscc_check_digit(code[:17]) == code[17]
    assert normalize._org_code_check_digit(code[8:16]) == code[16]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" 91350100m000100y43 ", "91350100M000100Y43"),
        ("9135 0100 M000 100Y 43", "91350100M000100Y43"),
        ("９１３５０１００Ｍ０００１００Ｙ４３", "91350100M000100Y43"),
        ("9144 0300\u3000708461136t", "91440300708461136T"),
    ],
)
def test_uscc_is_cleaned_up(raw: str, expected: str) -> None:
    assert normalize_uscc(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "A unified social credit code has 18 characters."),
        ("91350100M000100Y4", "A unified social credit code has 18 characters."),
        ("91350100M000100Y430", "A unified social credit code has 18 characters."),
        ("110108000000016", "A unified social credit code has 18 characters."),  # 注册号
        ("91350100M000100Y44", "The check digit of this unified social credit code is wrong."),
        ("91350100M000100Y34", "The check digit of this unified social credit code is wrong."),
        ("91350100M0001O0Y43", "Unexpected character “O” in the unified social credit code."),
        ("9135010OM000100Y4I", "Unexpected character “O” in the unified social credit code."),
        ("91350100M000100Y4S", "Unexpected character “S” in the unified social credit code."),
        ("91350100-M000100Y43", "Unexpected character “-” in the unified social credit code."),
        ("统一社会信用代码", "Unexpected character “统” in the unified social credit code."),
    ],
)
def test_invalid_uscc_messages(raw: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        normalize_uscc(raw)
    assert str(info.value) == message


@pytest.mark.parametrize("first17", ["", "91350100M000100Y", "91350100M000100Y43"])
def test_check_digit_needs_17_characters(first17: str) -> None:
    with pytest.raises(ValueError):
        uscc_check_digit(first17)


def test_check_digit_rejects_characters_outside_the_charset() -> None:
    with pytest.raises(ValueError, match="“Z”"):
        uscc_check_digit("91350100Z000100Y4")


def test_make_uscc_is_realistic_and_reproducible() -> None:
    codes = [make_uscc(random.Random(7)) for _ in range(2)]
    assert codes[0] == codes[1]
    rng = random.Random(1)
    for _ in range(200):
        code = make_uscc(rng)
        assert code[0] == "9"
        assert code[1] in "123"
        assert code[2:8] in normalize._DEMO_REGION_CODES
        assert code[8:16].isdigit() or code[8:10] == "MA"
        assert normalize._org_code_check_digit(code[8:16]) == code[16]


@given(st.randoms(use_true_random=False))
def test_made_codes_are_valid(rng: random.Random) -> None:
    code = make_uscc(rng)
    assert normalize_uscc(code) == code


@given(st.randoms(use_true_random=False), st.integers(0, 17), st.sampled_from(USCC_CHARSET))
def test_any_single_changed_character_is_caught(
    rng: random.Random, position: int, char: str
) -> None:
    """The weights 3^i mod 31 are never 0 mod the prime 31, so no substitution slips by."""
    code = make_uscc(rng)
    assume(code[position] != char)
    changed = code[:position] + char + code[position + 1 :]
    with pytest.raises(ValueError, match="check digit"):
        normalize_uscc(changed)


# --- Company names --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("华夏制造有限公司", "华夏制造"),
        ("华夏制造股份有限公司", "华夏制造"),
        ("华夏制造有限责任公司", "华夏制造"),
        ("华夏制造股份公司", "华夏制造"),
        ("华夏制造公司", "华夏制造"),
        ("华夏制造（集团）有限公司", "华夏制造集团"),
        ("【华夏】制造 “集团” 有限公司", "华夏制造集团"),
        ("华夏·制造、集团有限公司", "华夏制造集团"),
        ("华夏制造有限公司上海分公司", "华夏制造有限公司上海分公司"),
        ("华夏制造分公司", "华夏制造分公司"),
        ("华夏创投合伙企业（有限合伙）", "华夏创投合伙企业"),
        ("Huaxia Manufacturing Co., Ltd.", "huaxiamanufacturing"),
        ("HUAXIA MANUFACTURING CO.,LTD", "huaxiamanufacturing"),
        ("Ｈｕａｘｉａ　Ｍａｎｕｆａｃｔｕｒｉｎｇ　Ｃｏ．，Ｌｔｄ．", "huaxiamanufacturing"),
        ("Huaxia Manufacturing Company Limited", "huaxiamanufacturing"),
        ("Huaxia Pte. Ltd.", "huaxia"),
        ("Apple Inc.", "apple"),
        ("Tesco", "tesco"),  # "co" is only a legal form as a word of its own
        ("Tesco PLC", "tesco"),
        ("Zinc", "zinc"),
        ("华夏Co., Ltd.", "华夏"),
        ("Nestlé", "nestle"),
        ("3M中国有限公司", "3m中国"),
        ("有限公司", "有限公司"),  # nothing but a legal form: kept rather than emptied
        ("Limited", "limited"),
        ("", ""),
        ("  ·  ", ""),
    ],
)
def test_company_name_key(name: str, key: str) -> None:
    assert normalize_company_name(name) == key


@pytest.mark.parametrize(
    ("name", "base"),
    [
        ("华夏制造有限公司", "华夏制造"),
        ("华夏制造有限公司上海分公司", "华夏制造"),
        ("华夏制造有限公司浦东新区分公司", "华夏制造"),
        ("华夏制造有限公司第一分公司", "华夏制造"),
        ("华夏制造上海分公司", "华夏制造"),
        ("华夏制造上海市分公司", "华夏制造"),
        ("华夏制造海淀分公司", "华夏制造"),
        ("华夏制造（集团）有限公司北京分公司", "华夏制造集团"),
        ("华夏餐饮管理有限公司徐家汇分店", "华夏餐饮管理"),
        ("招商银行股份有限公司上海陆家嘴支行", "招商银行"),
        ("招商银行上海分行", "招商银行"),
        ("华夏证券股份有限公司上海世纪大道证券营业部", "华夏证券"),
        ("Huaxia GmbH 上海代表处", "huaxia"),
        ("华夏制造有限公司驻上海办事处", "华夏制造"),
        ("华夏制造第一分公司", "华夏制造第一分公司"),  # no legal form, no place: unknown
        ("上海分公司", "上海分公司"),
        ("", ""),
    ],
)
def test_base_company_name(name: str, base: str) -> None:
    assert base_company_name(name) == base


@pytest.mark.parametrize(
    ("name", "pinyin"),
    [
        ("华夏制造有限公司", ("huaxiazhizao", "hxzz")),
        ("重庆长安汽车股份有限公司", ("chongqingchanganqiche", "cqcaqc")),
        ("华夏3D打印有限公司", ("huaxia3ddayin", "hx3ddy")),
        ("Apple Inc.", ("apple", "apple")),
        ("", ("", "")),
    ],
)
def test_name_pinyin(name: str, pinyin: tuple[str, str]) -> None:
    assert name_pinyin(name) == pinyin


def test_name_similarity() -> None:
    assert name_similarity("华夏制造有限公司", "华夏制造股份有限公司") == 1.0
    assert name_similarity("华夏制造有限公司", "华夏制造有限公司上海分公司") == 1.0
    assert name_similarity("华夏制造有限公司", "华夏制造集团有限公司") >= SIMILAR_NAME_THRESHOLD
    assert name_similarity("华夏制造有限公司", "华夏智造有限公司") < SIMILAR_NAME_THRESHOLD
    assert name_similarity("华夏制造有限公司", "东方电子有限公司") == 0.0
    assert name_similarity("", "华夏制造") == 0.0


TRADE_NAME_CHARS = (
    "华夏中东方长城科技信息网络电子机械贸易实业发展环球金融新能源汽车医药生物材料智能数据云物流服务"
)
LEGAL_FORMS = [
    "",
    "有限公司",
    "股份有限公司",
    "有限责任公司",
    "集团有限公司",
    "（集团）股份有限公司",
]
trade_names = st.text(alphabet=TRADE_NAME_CHARS, min_size=2, max_size=12)
company_names = st.builds(
    lambda trade, form: trade + form, trade_names, st.sampled_from(LEGAL_FORMS)
)
latin_words = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    min_size=1,
    max_size=8,
)
latin_names = st.builds(
    lambda words, form: " ".join(words) + form,
    st.lists(latin_words, min_size=1, max_size=4),
    st.sampled_from(["", " Co., Ltd.", " Ltd", " Inc.", " (China) Company Limited", " & Co."]),
)


def full_width(text: str) -> str:
    """ASCII → its full-width form, as a Chinese IME types it."""
    return "".join(
        "\u3000" if char == " " else chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char
        for char in text
    )


@given(st.text())
def test_name_keys_are_idempotent(name: str) -> None:
    key = normalize_company_name(name)
    assert normalize_company_name(key) == key
    base = base_company_name(name)
    assert base_company_name(base) == base


@given(st.one_of(company_names, latin_names))
def test_name_keys_ignore_full_width(name: str) -> None:
    assert normalize_company_name(full_width(name)) == normalize_company_name(name)
    assert base_company_name(full_width(name)) == base_company_name(name)


@given(
    company_names, st.lists(st.integers(0, 40), max_size=5), st.sampled_from([" ", "\u3000", "\t"])
)
def test_name_keys_ignore_inserted_spaces(name: str, positions: list[int], space: str) -> None:
    """In Chinese names, where spaces mark no word, any inserted whitespace is ignored."""
    spaced = name
    for position in sorted(positions, reverse=True):
        spaced = spaced[:position] + space + spaced[position:]
    assert normalize_company_name(spaced) == normalize_company_name(name)


@given(company_names, st.sampled_from(["上海分公司", "北京市分公司", "深圳分行", "浦东新区办事处"]))
def test_branch_has_the_base_name_of_its_company(name: str, branch: str) -> None:
    assert base_company_name(name + branch) == base_company_name(name)


@relaxed
@given(st.one_of(company_names, latin_names, st.text()))
def test_name_pinyin_is_ascii_and_initials_are_shorter(name: str) -> None:
    full, initials = name_pinyin(name)
    assert len(initials) <= len(full)
    for text in (full, initials):
        assert text == text.lower()
        assert all(char.isascii() and char.isalnum() for char in text)


@given(st.one_of(company_names, st.text()), st.one_of(company_names, st.text()))
def test_name_similarity_is_a_symmetric_score(a: str, b: str) -> None:
    score = name_similarity(a, b)
    assert 0.0 <= score <= 1.0
    assert score == name_similarity(b, a)
    if base_company_name(a):
        assert name_similarity(a, a) == 1.0


# --- Phones and e-mail ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("138 0013 8000", "+8613800138000"),
        ("13800138000", "+8613800138000"),
        ("+86-138-0013-8000", "+8613800138000"),
        ("+86 (138) 0013 8000", "+8613800138000"),
        ("１３８００１３８０００", "+8613800138000"),
        ("021-6888 8888", "+862168888888"),
        ("(0755) 8888 8888", "+8675588888888"),
        ("400-820-8820", "+864008208820"),
        ("+1 650-253-0000", "+16502530000"),
        ("+8613800138000", "+8613800138000"),
    ],
)
def test_normalize_phone(raw: str, expected: str) -> None:
    assert normalize_phone(raw) == expected


def test_normalize_phone_reads_numbers_of_the_region_given() -> None:
    assert normalize_phone("(650) 253-0000", region="US") == "+16502530000"
    assert normalize_phone("(650) 253-0000", region="us") == "+16502530000"


@pytest.mark.parametrize("raw", ["", "12345", "138 0013 800", "95588", "abc", "+86", "电话"])
def test_invalid_phone(raw: str) -> None:
    with pytest.raises(ValueError, match=r"^This is not a valid phone number\.$"):
        normalize_phone(raw)


def test_phone_with_extension_is_refused() -> None:
    with pytest.raises(ValueError, match="extension"):
        normalize_phone("021-6888 8888 ext. 801")


MOBILE_PREFIXES = ["130", "135", "138", "139", "150", "158", "176", "186", "188", "199"]
mobiles = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(MOBILE_PREFIXES),
    st.text(alphabet="0123456789", min_size=8, max_size=8),
)


@relaxed
@given(mobiles, st.sampled_from(["{}", "+86 {}", "+86-{}", "0086{}", " {} "]), st.booleans())
def test_phone_forms_agree_and_are_idempotent(number: str, form: str, spaced: bool) -> None:
    raw = form.format(f"{number[:3]} {number[3:7]} {number[7:]}" if spaced else number)
    e164 = normalize_phone(raw)
    assert e164 == "+86" + number
    assert normalize_phone(e164) == e164


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("name@example.com", "name@example.com"),
        ("  Li.Lei@Example.COM \n", "Li.Lei@example.com"),
        ("li.lei+crm@mail.example.com.cn", "li.lei+crm@mail.example.com.cn"),
        ("li.lei＠example．com", "li.lei@example.com"),
        ("wang@例子.中国", "wang@例子.中国"),
    ],
)
def test_normalize_email(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "name",
        "name@",
        "@example.com",
        "name@localhost",
        "a@b@example.com",
        "li lei@example.com",
        "name@exa mple.com",
        "name@.com",
        "name@example..com",
        "name@example.com.",
    ],
)
def test_invalid_email(raw: str) -> None:
    with pytest.raises(ValueError, match=r"^Enter a valid email address with a domain"):
        normalize_email(raw)


@given(st.emails())
def test_normalize_email_is_idempotent(raw: str) -> None:
    try:
        email = normalize_email(raw)
    except ValueError:
        assume(False)
    assert normalize_email(email) == email
    assert normalize_email(email.upper()).split("@")[1] == email.split("@")[1]


# --- Robustness -----------------------------------------------------------------------------

NORMALIZERS: list[Callable[[str], object]] = [
    normalize_uscc,
    normalize_company_name,
    base_company_name,
    name_pinyin,
    normalize_phone,
    normalize_email,
    parse_region,
]


@relaxed
@pytest.mark.parametrize("function", NORMALIZERS, ids=lambda f: f.__name__)
@given(raw=st.text())
def test_bad_input_raises_only_value_error(function: Callable[[str], object], raw: str) -> None:
    with contextlib.suppress(ValueError):
        function(raw)


# --- Regions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "region"),
    [
        ("上海市浦东新区世纪大道100号", ("上海市", "上海市", "浦东新区")),
        ("浦东新区世纪大道100号", ("上海市", "上海市", "浦东新区")),
        ("北京市海淀区中关村大街1号", ("北京市", "北京市", "海淀区")),
        ("重庆市城口县葛城街道", ("重庆市", "重庆市", "城口县")),
        ("广东省深圳市南山区科技园", ("广东省", "深圳市", "南山区")),
        ("深圳南山区科技园", ("广东省", "深圳市", "南山区")),
        ("杭州市西湖区文三路", ("浙江省", "杭州市", "西湖区")),
        ("广东省东莞市松山湖", ("广东省", "东莞市", "")),
        ("湖北省仙桃市", ("湖北省", "仙桃市", "仙桃市")),
        ("上海市", ("上海市", "上海市", "")),
        ("世纪大道100号", ("", "", "")),
        ("", ("", "", "")),
    ],
)
def test_parse_region(address: str, region: tuple[str, str, str]) -> None:
    assert parse_region(address) == region


# --- GB/T 4754-2017 -------------------------------------------------------------------------


def test_classification_is_complete() -> None:
    assert list(reference.SECTIONS) == [chr(c) for c in range(ord("A"), ord("T") + 1)]
    assert list(reference.DIVISIONS) == [f"{n:02d}" for n in range(1, 98)]
    sections = [section for section, _zh, _en in reference.DIVISIONS.values()]
    assert sections == sorted(sections)
    assert set(sections) == set(reference.SECTIONS)
    assert [sections.count(s) for s in reference.SECTIONS] == [
        5, 7, 31, 3, 4, 2, 8, 2, 3, 4, 1, 2, 3, 4, 3, 1, 2, 5, 6, 1,
    ]  # fmt: skip
    for _section, name_zh, name_en in reference.DIVISIONS.values():
        assert name_zh and not name_zh.isascii()
        assert name_en.isascii() and name_en[0].isupper()


def test_industry_choices() -> None:
    zh = reference.industry_choices("zh-hans")
    assert len(zh) == 20
    assert zh[0] == (
        "A 农、林、牧、渔业",
        [
            ("01", "01 农业"),
            ("02", "02 林业"),
            ("03", "03 畜牧业"),
            ("04", "04 渔业"),
            ("05", "05 农、林、牧、渔专业及辅助性活动"),
        ],
    )
    assert zh[-1] == ("T 国际组织", [("97", "97 国际组织")])
    en = reference.industry_choices("en")
    assert en[2][0] == "C Manufacturing"
    assert en[2][1][23] == ("36", "36 Manufacture of motor vehicles")
    assert sum(len(options) for _label, options in en) == 97


def test_industry_label_and_check() -> None:
    assert reference.industry_label("65", "zh-hans") == "65 软件和信息技术服务业"
    assert reference.industry_label("65", "en") == "65 Software and information technology services"
    assert reference.industry_label("I", "zh") == "I 信息传输、软件和信息技术服务业"
    assert reference.industry_label("98", "en") == "98"
    assert reference.industry_label("", "en") == ""
    assert reference.is_industry("01")
    assert reference.is_industry("97")
    assert not reference.is_industry("1")
    assert not reference.is_industry("98")
    assert not reference.is_industry("A")
    assert not reference.is_industry("")
