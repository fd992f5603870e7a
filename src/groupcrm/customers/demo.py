"""Demo customers for the demo group 华夏控股集团 (``groupcrm demo``).

About 2,000 companies with realistic Chinese names, group hierarchies (母公司 → 子公司 →
孙公司/分公司), valid credit codes, addresses cpca can parse, contacts, relationships with
the demo group's units and a year of follow-ups. Everything is deterministic for a seed
(``random.Random``) relative to the moment of loading, and everything is written through
the real services, so the audit chain, the search index and the outbox fill exactly as in
real use.

The demo roles (``org.demo``) carry the customer modules' permissions. The load is
planned (pure Python: names, hierarchy, who works with whom, how many follow-ups
when) and written. The account managers' quotas keep every owner within the units' pool
rules, and the follow-up times keep owned customers clear of the nightly return to the
pool (公海回收) for a week or more after loading.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from groupcrm.core.actor import Actor
from groupcrm.customers.models import Contact, Customer, CustomerRelationship, FollowUp
from groupcrm.customers.normalize import (
    SIMILAR_NAME_THRESHOLD,
    base_company_name,
    make_uscc,
    normalize_phone,
)
from groupcrm.customers.reference import DIVISIONS
from groupcrm.customers.services import (
    contact_create,
    customer_create,
    follow_set,
    followup_create,
    pool_rule_update,
    relationship_release,
    relationship_start,
    relationship_update,
)
from groupcrm.org.demo import DEMO_USERS
from groupcrm.org.models import BusinessUnit, User

# --- the demo group's side --------------------------------------------------------------

#: Account managers (and the others who own customers) per unit, with how many customers
#: each keeps at ``count=2000`` (scaled for other counts). 张伟 is the README's example.
OWNER_QUOTAS: dict[str, list[tuple[str, int]]] = {
    "hx-hq-ka": [("zhouhui", 30), ("linna", 60)],
    "hx-mfg": [("liqiang", 30)],
    "hx-mfg-east": [("zhaolei", 120), ("qianyi", 145)],
    "hx-mfg-east-sh": [("zhangwei", 65), ("liuyang", 85)],
    "hx-mfg-south": [("wangfang", 140)],
    "hx-mfg-svc": [("xuming", 110)],
    "hx-fin": [("huangmin", 30)],
    "hx-fin-corp": [("wutao", 90), ("zhengshuang", 190), ("fengyan", 185)],
    "hx-fin-svc": [("tangjun", 100)],
    "hx-log": [("mali", 30)],
    "hx-log-contract": [("hanbing", 190), ("caoxue", 185)],
    "hx-tech": [("denghua", 30)],
    "hx-tech-sol": [("xieping", 90), ("songjia", 190), ("luyao", 185)],
    "hx-tech-cs": [("jiangtao", 120)],
}
#: Subsidiary → (its manager, its sales unit, its service unit, its marketer and unit).
SUBSIDIARIES: dict[str, tuple[str, str, str | None, tuple[str, str]]] = {
    "mfg": ("liqiang", "hx-mfg-east", "hx-mfg-svc", ("gaojie", "hx-mfg")),
    "fin": ("huangmin", "hx-fin-corp", "hx-fin-svc", ("yangxue", "hx-fin-corp")),
    "log": ("mali", "hx-log-contract", None, ("yuanhao", "hx-log-mkt")),
    "tech": ("denghua", "hx-tech-sol", "hx-tech-cs", ("panyue", "hx-tech")),
}
MANAGER_UNIT = {"mfg": "hx-mfg", "fin": "hx-fin", "log": "hx-log", "tech": "hx-tech"}
KA_UNIT = "hx-hq-ka"
HIGHLIGHTED_OWNER = "zhangwei"

#: The pool rule the demo sets (华夏制造), and the default that applies elsewhere.
MFG_POOL_RULE = {"max_owned": 150, "daily_claim_limit": 10, "reclaim_after_days": 45}
DEFAULT_RECLAIM_DAYS = 30

# --- companies ----------------------------------------------------------------------------

# (province, city, short name, area code, digits of local numbers, weight, sales region,
#  {district: streets}); every address made of these parses to (province, city, district).
# fmt: off
REGIONS: list[tuple[str, str, str, str, int, int, str, dict[str, list[str]]]] = [
    ("上海市", "上海市", "上海", "021", 8, 13, "sh", {
        "浦东新区": ["张江路", "世纪大道", "金科路", "川沙路", "康桥东路", "祖冲之路"],
        "闵行区": ["春东路", "剑川路", "紫星路", "都会路"],
        "嘉定区": ["墨玉南路", "叶城路", "嘉松北路"],
        "松江区": ["涞寅路", "民益路", "新飞路"],
        "徐汇区": ["宜山路", "虹梅路", "漕溪北路"],
        "宝山区": ["富联路", "蕰川路"],
        "青浦区": ["华腾路", "崧泽大道"],
    }),
    ("北京市", "北京市", "北京", "010", 8, 7, "north", {
        "海淀区": ["中关村大街", "上地信息路", "西北旺东路", "学院路"],
        "朝阳区": ["建国路", "酒仙桥路", "望京街", "东三环中路"],
        "大兴区": ["荣华南路", "科创十三街"],
        "顺义区": ["林河大街", "天竺路"],
        "昌平区": ["超前路", "生命园路"],
    }),
    ("天津市", "天津市", "天津", "022", 8, 3, "north", {
        "滨海新区": ["第二大街", "黄海路", "西环北路"],
        "西青区": ["兴华七支路", "海泰发展六道"],
        "东丽区": ["航双路", "津塘公路"],
    }),
    ("重庆市", "重庆市", "重庆", "023", 8, 2, "west", {
        "渝北区": ["金开大道", "黄山大道"],
        "九龙坡区": ["科园一路", "西城大道"],
        "江北区": ["建新北路"],
    }),
    ("江苏省", "苏州市", "苏州", "0512", 8, 7, "east", {
        "吴中区": ["金枫路", "旺山路", "东吴南路"],
        "相城区": ["澄阳路", "高铁新城南天成路"],
        "昆山市": ["前进东路", "萧林路", "春晖路"],
        "虎丘区": ["狮山路", "长江路"],
        "吴江区": ["开平路", "中山南路"],
        "常熟市": ["东南大道"],
    }),
    ("江苏省", "南京市", "南京", "025", 8, 3, "east", {
        "江宁区": ["将军大道", "天元中路", "秣周东路"],
        "建邺区": ["江东中路", "河西大街"],
        "浦口区": ["浦滨路"],
    }),
    ("江苏省", "无锡市", "无锡", "0510", 8, 3, "east", {
        "新吴区": ["长江路", "菱湖大道", "新华路"],
        "江阴市": ["澄江中路", "滨江西路"],
        "滨湖区": ["蠡湖大道"],
    }),
    ("江苏省", "常州市", "常州", "0519", 8, 2, "east", {
        "武进区": ["常武中路", "武宜中路"],
        "新北区": ["通江中路", "华山中路"],
    }),
    ("江苏省", "南通市", "南通", "0513", 8, 1, "east", {"崇川区": ["崇川路", "工农路"]}),
    ("浙江省", "杭州市", "杭州", "0571", 8, 5, "east", {
        "滨江区": ["江南大道", "网商路", "江虹路"],
        "余杭区": ["文一西路", "五常大道"],
        "萧山区": ["市心中路", "建设一路"],
        "西湖区": ["文三路", "西溪路"],
    }),
    ("浙江省", "宁波市", "宁波", "0574", 8, 3, "east", {
        "北仑区": ["明州路", "新碶街道长江路"],
        "鄞州区": ["首南中路", "天童南路"],
        "慈溪市": ["新城大道"],
    }),
    ("浙江省", "嘉兴市", "嘉兴", "0573", 8, 2, "east", {
        "南湖区": ["亚太路", "由拳路"],
        "海宁市": ["海昌南路"],
    }),
    ("浙江省", "温州市", "温州", "0577", 8, 1, "east", {
        "乐清市": ["柳市镇长江路"],
        "瓯海区": ["瓯海大道"],
    }),
    ("浙江省", "绍兴市", "绍兴", "0575", 8, 1, "east", {"柯桥区": ["金柯桥大道"]}),
    ("广东省", "深圳市", "深圳", "0755", 8, 6, "south", {
        "南山区": ["科苑路", "高新南一道", "深南大道", "粤海街道科技园中区"],
        "福田区": ["深南中路", "福华三路"],
        "宝安区": ["宝源路", "航城大道", "福永街道凤凰大道"],
        "龙岗区": ["坂田街道雪岗路", "龙城大道"],
        "罗湖区": ["人民南路", "笋岗路"],
    }),
    ("广东省", "广州市", "广州", "020", 8, 4, "south", {
        "天河区": ["天河北路", "黄埔大道西", "中山大道西"],
        "黄埔区": ["科学大道", "开创大道"],
        "番禺区": ["市桥街道光明北路", "汉溪大道"],
        "南沙区": ["进港大道"],
    }),
    ("广东省", "佛山市", "佛山", "0757", 8, 2, "south", {
        "顺德区": ["北滘镇工业大道", "容桂街道桂洲大道"],
        "南海区": ["桂城街道南海大道", "狮山镇科技东路"],
    }),
    ("广东省", "珠海市", "珠海", "0756", 7, 1, "south", {
        "香洲区": ["情侣中路"],
        "金湾区": ["金海岸大道"],
    }),
    ("广东省", "惠州市", "惠州", "0752", 7, 1, "south", {"惠城区": ["江北文昌一路"]}),
    ("福建省", "厦门市", "厦门", "0592", 7, 2, "south", {
        "思明区": ["湖滨南路", "软件园二期观日路"],
        "湖里区": ["火炬路", "枋湖北二路"],
        "集美区": ["杏林湾路"],
    }),
    ("福建省", "福州市", "福州", "0591", 8, 1, "south", {
        "鼓楼区": ["五四路"],
        "仓山区": ["金山大道"],
    }),
    ("福建省", "泉州市", "泉州", "0595", 8, 1, "south", {"晋江市": ["世纪大道"]}),
    ("山东省", "青岛市", "青岛", "0532", 8, 3, "east", {
        "黄岛区": ["长江中路", "江山南路"],
        "市南区": ["香港中路", "东海西路"],
        "城阳区": ["正阳路"],
    }),
    ("山东省", "济南市", "济南", "0531", 8, 2, "east", {
        "历下区": ["经十路", "解放路"],
        "历城区": ["工业南路"],
    }),
    ("山东省", "烟台市", "烟台", "0535", 7, 1, "east", {"芝罘区": ["南大街"]}),
    ("安徽省", "合肥市", "合肥", "0551", 8, 3, "east", {
        "蜀山区": ["长江西路", "望江西路"],
        "包河区": ["徽州大道", "繁华大道"],
    }),
    ("湖北省", "武汉市", "武汉", "027", 8, 4, "west", {
        "洪山区": ["珞喻路", "光谷大道"],
        "江夏区": ["文化大道"],
        "汉阳区": ["龙阳大道", "汉阳大道"],
    }),
    ("湖南省", "长沙市", "长沙", "0731", 8, 2, "west", {
        "岳麓区": ["麓谷大道", "桐梓坡路"],
        "雨花区": ["万家丽中路"],
    }),
    ("四川省", "成都市", "成都", "028", 8, 4, "west", {
        "武侯区": ["天府大道北段", "武侯大道"],
        "双流区": ["物联大道", "空港一路"],
        "青羊区": ["光华大道"],
    }),
    ("陕西省", "西安市", "西安", "029", 8, 2, "west", {
        "雁塔区": ["科技路", "锦业路"],
        "未央区": ["凤城八路"],
    }),
    ("河南省", "郑州市", "郑州", "0371", 8, 2, "north", {
        "金水区": ["农业路", "花园路"],
        "管城回族区": ["航海东路"],
    }),
    ("辽宁省", "沈阳市", "沈阳", "024", 8, 1, "north", {
        "浑南区": ["创新路"],
        "铁西区": ["北二中路"],
    }),
    ("辽宁省", "大连市", "大连", "0411", 8, 1, "north", {
        "甘井子区": ["黄浦路"],
        "金州区": ["辽河西路"],
    }),
    ("河北省", "石家庄市", "石家庄", "0311", 8, 1, "north", {"长安区": ["中山东路"]}),
    ("广西壮族自治区", "南宁市", "南宁", "0771", 7, 1, "south", {"青秀区": ["民族大道"]}),
    ("江西省", "南昌市", "南昌", "0791", 8, 1, "east", {"西湖区": ["洪城路"]}),
    ("云南省", "昆明市", "昆明", "0871", 8, 1, "west", {"五华区": ["人民中路"]}),
]
# fmt: on

# (industry word, GB/T 4754 division, sector)
INDUSTRIES: list[tuple[str, str, str]] = [
    ("精密机械", "34", "mfg"),
    ("数控机床", "34", "mfg"),
    ("智能装备", "35", "mfg"),
    ("医疗器械", "35", "mfg"),
    ("汽车零部件", "36", "mfg"),
    ("轨道交通装备", "37", "mfg"),
    ("新能源", "38", "mfg"),
    ("光伏科技", "38", "mfg"),
    ("电气", "38", "mfg"),
    ("电子科技", "39", "mfg"),
    ("半导体", "39", "mfg"),
    ("光电", "39", "mfg"),
    ("通信设备", "39", "mfg"),
    ("仪器仪表", "40", "mfg"),
    ("医药", "27", "mfg"),
    ("生物制药", "27", "mfg"),
    ("化工", "26", "mfg"),
    ("新材料", "26", "mfg"),
    ("塑胶", "29", "mfg"),
    ("五金制品", "33", "mfg"),
    ("特钢", "31", "mfg"),
    ("铝业", "32", "mfg"),
    ("纺织", "17", "mfg"),
    ("服饰", "18", "mfg"),
    ("食品", "14", "mfg"),
    ("饮品", "15", "mfg"),
    ("家居", "21", "mfg"),
    ("包装", "22", "mfg"),
    ("建设", "48", "build"),
    ("建筑工程", "47", "build"),
    ("装饰工程", "50", "build"),
    ("电力工程", "49", "build"),
    ("能源", "44", "build"),
    ("燃气", "45", "build"),
    ("环保科技", "77", "build"),
    ("物流", "58", "log"),
    ("供应链管理", "72", "log"),
    ("国际货运代理", "58", "log"),
    ("仓储", "59", "log"),
    ("冷链物流", "59", "log"),
    ("航运", "55", "log"),
    ("商贸", "51", "trade"),
    ("进出口", "51", "trade"),
    ("连锁商业", "52", "trade"),
    ("信息技术", "65", "tech"),
    ("软件", "65", "tech"),
    ("网络科技", "64", "tech"),
    ("数据科技", "65", "tech"),
    ("通信技术", "63", "tech"),
    ("检测技术", "74", "tech"),
    ("融资租赁", "66", "fin"),
    ("投资", "72", "fin"),
    ("置业", "70", "fin"),
    ("酒店管理", "61", "fin"),
    ("人力资源", "72", "fin"),
]
INDUSTRY: dict[str, tuple[str, str]] = {
    word: (division, sector) for word, division, sector in INDUSTRIES
}

#: Which subsidiaries of the demo group work with a sector, and how often.
SECTOR_AFFINITY: dict[str, dict[str, int]] = {
    "mfg": {"mfg": 7, "fin": 2, "log": 2, "tech": 2},
    "build": {"mfg": 3, "fin": 4, "log": 1, "tech": 2},
    "log": {"log": 7, "fin": 2, "tech": 2, "mfg": 1},
    "trade": {"log": 5, "fin": 3, "tech": 1, "mfg": 1},
    "tech": {"tech": 6, "fin": 2, "mfg": 2, "log": 1},
    "fin": {"fin": 6, "tech": 3, "log": 1, "mfg": 1},
}

# fmt: off
#: What each subsidiary talks about with its customers.
OFFERINGS: dict[str, list[str]] = {
    "mfg": ["数控加工中心", "精密零部件", "自动化产线改造", "工业机器人工作站", "备品备件年度框架",
            "设备维保服务"],
    "fin": ["设备融资租赁", "供应链金融", "应收账款保理", "流动资金贷款", "票据贴现", "跨境结算"],
    "log": ["合同物流", "区域仓配一体化", "干线运输", "冷链配送", "进口清关与VMI仓",
            "厂内物流外包"],
    "tech": ["MES系统", "ERP升级", "数据中台", "工业互联网平台", "云迁移", "等保测评"],
    "ka": ["集团战略合作框架", "集团综合服务方案", "年度高层互访", "跨板块联合方案"],
}

#: 字号 (trade names) are made of one character of each.
BRAND_FIRST = "恒瑞鑫宏创金天博亚德永盛嘉凯远泰安联正明富万立汇中辰卓众铭力"
BRAND_SECOND = "信丰达源宇昌辉兴诚和通锦润科隆弘利航捷益晟峰腾康元邦越拓"
#: Classic trade names, used as they are.
BRAND_CLASSIC = [
    "东方", "长江", "中原", "江南", "南方", "北方", "远东", "环球", "大地", "蓝天", "金桥",
    "银河", "星河", "九州", "神州", "黄河", "珠江", "东海", "南海", "天山", "泰山", "昆仑",
    "中天", "西部", "海天", "新华", "光明", "华东", "华南", "华北", "江淮", "齐鲁", "燕山",
    "岭南", "湘江", "楚天", "巴蜀", "秦川", "闽江", "钱塘",
]
#: Trade names of foreign-invested companies: 德朗（上海）精密机械有限公司.
BRAND_FOREIGN = [
    "德朗", "凯斐", "欧瑞克", "安博特", "莱茵斯", "韦尔康", "诺维克", "贝克隆", "泰勒森",
    "霍夫曼", "米勒斯", "卡尔森", "施泰因", "菲利克", "奥斯汀", "伯格曼", "罗兰德", "尼尔森",
]
GROUP_SUFFIXES = [
    ("集团有限公司", 5), ("控股集团有限公司", 2), ("集团股份有限公司", 2), ("实业集团有限公司", 1),
]

# --- people -------------------------------------------------------------------------------

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭肖田董袁潘于蒋蔡余杜叶程苏"
    "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚"
    "邵万钱严武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国文辉玉兰萍红鹏飞宇浩然晨曦思远志宏海燕"
    "雪梅俊峰佳怡欣悦婷颖晓东波春阳凯博睿哲琳倩嘉子轩雨桐振宁立新永健"
)
#: Decision-chain role → (job title, department).
CONTACT_TITLES: dict[str, list[tuple[str, str]]] = {
    Contact.Role.DECISION_MAKER: [
        ("董事长", "总经办"), ("总经理", "总经办"), ("副总经理", "总经办"), ("总裁", "总裁办"),
        ("运营副总裁", "运营中心"),
    ],
    Contact.Role.PURCHASING: [
        ("采购经理", "采购部"), ("采购总监", "采购部"), ("供应链总监", "供应链管理部"),
        ("采购专员", "采购部"), ("招标采购部经理", "招标采购部"),
    ],
    Contact.Role.TECHNICAL: [
        ("技术总监", "技术部"), ("工程部经理", "工程部"), ("研发经理", "研发中心"),
        ("信息中心主任", "信息中心"), ("设备部部长", "设备部"),
    ],
    Contact.Role.USER: [
        ("生产经理", "生产部"), ("仓储物流主管", "物流部"), ("厂长", "制造中心"),
        ("品质经理", "品质部"), ("运营经理", "运营部"),
    ],
    Contact.Role.INFLUENCER: [
        ("财务总监", "财务部"), ("财务经理", "财务部"), ("行政总监", "行政部"),
        ("董事会秘书", "证券部"),
    ],
    Contact.Role.OTHER: [("总经理助理", "总经办"), ("行政专员", "行政部")],
}
MOBILE_PREFIXES = [
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153",
    "155", "156", "157", "158", "159", "166", "177", "180", "181", "182", "183", "185", "186",
    "187", "188", "189", "199",
]
CONTACT_NOTES = [
    "喜欢喝茶，周三下午方便沟通", "对价格敏感，重视交付周期", "技术出身，关注参数和案例",
    "决策需报集团总部审批", "逢年过节可寄送贺卡", "微信回复及时，电话常在会议中",
    "曾在外资企业任职，习惯邮件沟通",
]
# fmt: on

# --- follow-ups ----------------------------------------------------------------------------

FOLLOWUP_KINDS = [
    (FollowUp.Kind.CALL, 30),
    (FollowUp.Kind.WECHAT, 24),
    (FollowUp.Kind.VISIT, 16),
    (FollowUp.Kind.MEETING, 10),
    (FollowUp.Kind.EMAIL, 12),
    (FollowUp.Kind.NOTE, 8),
]
CONTENT: dict[str, list[str]] = {
    FollowUp.Kind.CALL: [
        "电话联系{c}，了解{p}需求进展，对方表示{r}。",
        "与{c}电话沟通{p}报价细节，{r}。",
        "致电{c}确认上次会议纪要，{r}。",
    ],
    FollowUp.Kind.WECHAT: [
        "微信沟通{c}，发送{p}资料，{r}。",
        "{c}微信询问{p}交期，已答复，{r}。",
        "微信跟进{c}，{r}。",
    ],
    FollowUp.Kind.VISIT: [
        "拜访{c}，参观了生产现场，就{p}深入交流，{r}。",
        "上门拜访{c}，了解明年预算安排，{r}。",
        "陪同技术同事拜访{c}，现场调研{p}需求，{r}。",
    ],
    FollowUp.Kind.MEETING: [
        "与{c}召开{p}方案评审会，{r}。",
        "组织{p}线上演示，{c}参加，{r}。",
        "参加客户年度供应商大会，与{c}交流{p}合作，{r}。",
    ],
    FollowUp.Kind.EMAIL: [
        "邮件发送{p}方案及报价给{c}，{r}。",
        "邮件回复{c}关于{p}的技术问题，{r}。",
    ],
    FollowUp.Kind.NOTE: [
        "内部备注：客户正在调整组织架构，{p}项目负责人可能变更。",
        "内部备注：竞争对手近期降价，需关注{p}报价策略。",
        "内部备注：客户付款周期较长，{p}合同注意回款条款。",
    ],
}
REACTIONS = [
    "预算已在走内部审批",
    "下月初召开评审会",
    "对报价有一定压力，希望再优化",
    "技术方案基本认可",
    "需要补充同行业案例",
    "项目暂缓到下季度",
    "已进入供应商比选阶段",
    "希望先做小批量试点",
    "对交付周期比较关注",
    "领导层支持推进",
]
OUTCOMES = [
    "客户认可方案，约定下周现场交流",
    "需求明确，准备报价",
    "报价已发出，等待反馈",
    "客户暂无新需求，保持联系",
    "已签订年度框架协议",
    "达成试用意向",
    "对方希望价格再降5%",
    "确认参加我司技术交流会",
    "收到客户招标文件",
    "客户满意度较高",
]
NEXT_STEPS = [
    "发送正式报价单",
    "安排技术团队现场勘查",
    "准备合同初稿",
    "邀请客户参观示范工厂",
    "提交解决方案PPT",
    "跟进付款进度",
    "约客户高层拜访",
    "寄送样品",
    "组织线上演示",
    "整理会议纪要发给客户",
]
SERVICE_CONTENT = [
    "回访{c}，了解设备运行情况，{r}。",
    "处理{c}反馈的服务问题，已安排工程师跟进。",
    "季度满意度回访，{c}对服务响应表示认可。",
]
RELATIONSHIP_NOTES = [
    "客户年采购额约{n}万元，主要竞争对手为本地供应商。",
    "付款周期较长，注意回款风险。",
    "客户高层与我司总经理熟识，可安排高层互访。",
    "今年有新厂区建设计划，是重点突破机会。",
    "采购流程严格，需提前入围供应商名录。",
]
RELEASE_REASONS = [
    "客户已选定其他供应商，暂无合作机会",
    "客户暂无采购计划，转入公海",
    "联系人离职，暂时无法推进",
    "区域调整，交由公海重新分配",
    "长期未响应，释放至公海",
]
SIMILAR_BRANCH_REASON = "分公司，与总公司为不同登记主体"


# --- plan -----------------------------------------------------------------------------------


@dataclass
class Region:
    province: str
    city: str
    short: str
    area_code: str
    local_digits: int
    sales: str
    districts: dict[str, list[str]]


@dataclass
class RelPlan:
    unit: str
    owner: str | None  # None: in the unit's public pool from the start
    stage: str
    grade: str
    notes: str = ""
    protected_days: int = 0
    release_reason: str = ""  # owned first, returned to the pool after the follow-ups
    followups: int = 0
    starter: str = ""  # who starts it when the owner cannot (managers, marketers)


@dataclass
class CompanyPlan:
    legal_name: str
    short_name: str
    domain: str
    region: Region
    address: str
    industry: str
    sector: str
    legal_form: str
    size: str
    employees: int | None
    revenue: Decimal | None
    grade: str
    tags: list[str]
    source: str
    uscc: str | None
    website: str
    parent: int | None = None
    branch: bool = False
    depth: int = 0
    relationships: list[RelPlan] = field(default_factory=list)
    contacts: int = 1
    customer_id: int = 0


def _province_short(province: str) -> str:
    for suffix in ("壮族自治区", "回族自治区", "维吾尔自治区", "自治区", "省", "市"):
        if province.endswith(suffix):
            return province[: -len(suffix)]
    return province


@functools.cache
def _pinyin(text: str) -> str:
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(text)).lower()


@functools.cache
def _initials(text: str) -> str:
    from pypinyin import Style, lazy_pinyin

    return "".join(lazy_pinyin(text, style=Style.FIRST_LETTER)).lower()


def _bigrams(key: str) -> Counter[str]:
    if len(key) < 2:
        return Counter([key] if key else [])
    return Counter(key[i : i + 2] for i in range(len(key) - 1))


class NameRegistry:
    """Chosen names, refusing any that the service would call similar to an earlier one
    (same base name, or a Dice similarity of the base names' bigrams at the threshold)."""

    def __init__(self) -> None:
        self.bases: set[str] = set()
        self.grams: dict[str, Counter[str]] = {}
        self.by_gram: dict[str, set[str]] = {}

    def free(self, name: str) -> bool:
        base = base_company_name(name)
        if not base or base in self.bases:
            return False
        grams = _bigrams(base)
        candidates = set().union(*(self.by_gram.get(g, set()) for g in grams))
        for other in candidates:
            theirs = self.grams[other]
            dice = 2 * (grams & theirs).total() / (grams.total() + theirs.total())
            if dice >= SIMILAR_NAME_THRESHOLD:
                return False
        return True

    def add(self, name: str) -> None:
        base = base_company_name(name)
        self.bases.add(base)
        self.grams[base] = _bigrams(base)
        for gram in self.grams[base]:
            self.by_gram.setdefault(gram, set()).add(base)


class Planner:
    """Plans companies, hierarchies and who in the demo group works with them."""

    def __init__(self, rng: random.Random, count: int) -> None:
        self.rng = rng
        self.count = count
        self.scale = count / 2000
        self.names = NameRegistry()
        self.regions = [Region(p, c, s, a, d, sr, dist) for p, c, s, a, d, _w, sr, dist in REGIONS]
        self.region_weights = [r[5] for r in REGIONS]
        self.usccs: set[str] = set()
        self.domains: set[str] = set()
        brands = [a + b for a in BRAND_FIRST for b in BRAND_SECOND if a != b]
        rng.shuffle(brands)
        classic = list(BRAND_CLASSIC)
        rng.shuffle(classic)
        # Group brands come from the front; standalone companies draw from the rest.
        self.group_brands = classic[:25] + brands[:400]
        self.brands = classic[25:] + brands[400:]
        self.industry_abbr = self._abbreviations()
        self.plans: list[CompanyPlan] = []
        self.quota = {
            (unit, user): max(1, round(n * self.scale))
            for unit, owners in OWNER_QUOTAS.items()
            for user, n in owners
        }
        self.initial_quota = dict(self.quota)

    @staticmethod
    def _abbreviations() -> dict[str, str]:
        """Short pinyin of each industry word, for the companies' e-mail domains."""
        unknown = {division for division, _sector in INDUSTRY.values()} - set(DIVISIONS)
        if unknown:
            raise ValueError(f"not GB/T 4754 divisions: {sorted(unknown)}")
        out: dict[str, str] = {}
        for word, _division, _sector in INDUSTRIES:
            abbr = _initials(word)
            out[word] = abbr if abbr not in out.values() else _pinyin(word)
        return out

    # -- attributes --------------------------------------------------------------------

    def region(self, near: Region | None = None) -> Region:
        if near is not None and self.rng.random() < 0.5:
            same = [r for r in self.regions if r.sales == near.sales]
            return self.rng.choice(same)
        return self.rng.choices(self.regions, weights=self.region_weights)[0]

    def address(self, region: Region) -> str:
        district = self.rng.choice(sorted(region.districts))
        street = self.rng.choice(region.districts[district])
        number = self.rng.choice([self.rng.randint(1, 99), self.rng.randint(100, 3999)])
        head = region.city if region.province == region.city else region.province + region.city
        extra = ""
        roll = self.rng.random()
        if roll < 0.25:
            extra = f"{self.rng.randint(1, 12)}号楼"
        elif roll < 0.45:
            floor, room = self.rng.randint(3, 28), self.rng.randint(1, 20)
            extra = f"{self.rng.choice('ABCD')}座{floor}{room:02d}室"
        return f"{head}{district}{street}{number}号{extra}"

    def uscc(self) -> str | None:
        if self.rng.random() < 0.1:
            return None
        while True:
            code = make_uscc(self.rng)
            # Companies are 企业 (category 1), not 个体工商户 or 农民专业合作社.
            if code[1] == "1" and code not in self.usccs:
                self.usccs.add(code)
                return code

    def size(self, level: str) -> tuple[str, int, Decimal]:
        weights = {
            "root": (70, 25, 5, 0),
            "child": (25, 45, 25, 5),
            "branch": (0, 20, 55, 25),
            "alone": (8, 30, 45, 17),
        }[level]
        size = self.rng.choices(["large", "medium", "small", "micro"], weights=weights)[0]
        employees, revenue = {
            "large": ((1000, 20000), (40000, 2000000)),
            "medium": ((300, 999), (2000, 40000)),
            "small": ((20, 299), (300, 2000)),
            "micro": ((3, 19), (10, 300)),
        }[size]
        staff = self.rng.randint(*employees)
        money = Decimal(self.rng.randint(revenue[0] * 100, revenue[1] * 100)) / 100
        return size, staff, money.quantize(Decimal("0.01"))

    def grade(self, level: str) -> str:
        weights = {
            "root": (10, 40, 38, 12, 0),
            "child": (1, 15, 35, 35, 14),
            "branch": (0, 5, 25, 45, 25),
            "alone": (0.5, 6, 25, 45, 23.5),
        }[level]
        return self.rng.choices(["strategic", "key", "growth", "basic", ""], weights=weights)[0]

    def tags(self, *, legal_form: str, size: str, sector: str, foreign: bool) -> list[str]:
        tags = []
        if (
            legal_form == Customer.LegalForm.JOINT_STOCK
            and size == "large"
            and self.rng.random() < 0.6
        ):
            tags.append("上市公司")
        if legal_form == Customer.LegalForm.STATE_OWNED:
            tags.append("国企")
        if foreign:
            tags.append("外资")
            if size == "large" and self.rng.random() < 0.3:
                tags.append("世界500强")
        if sector in ("mfg", "tech") and size in ("small", "medium") and self.rng.random() < 0.12:
            tags.append("专精特新")
        if sector in ("mfg", "tech") and self.rng.random() < 0.3:
            tags.append("高新技术企业")
        if sector in ("mfg", "trade") and self.rng.random() < 0.15:
            tags.append("出口型企业")
        if (
            not foreign
            and size == "large"
            and legal_form != "state_owned"
            and self.rng.random() < 0.15
        ):
            tags.append("民营500强")
        return tags

    def source(self) -> str:
        return self.rng.choices(
            ["manual", "import", "website", "exhibition", "referral", "integration"],
            weights=[40, 30, 8, 10, 10, 2],
        )[0]

    def _domain(self, stem: str) -> str:
        domain = f"{stem}.com"
        n = 1
        while domain in self.domains:
            n += 1
            domain = f"{stem}{n}.com" if n > 2 else f"{stem}.com.cn"
        self.domains.add(domain)
        return domain

    # -- names ---------------------------------------------------------------------------

    def _company(
        self,
        *,
        legal_name: str,
        short_name: str,
        domain: str,
        region: Region,
        industry: tuple[str, str],
        level: str,
        legal_form: str,
        foreign: bool = False,
        parent: int | None = None,
        branch: bool = False,
    ) -> CompanyPlan:
        """Plan one company; ``industry`` is (GB/T 4754 division, sector)."""
        division, sector = industry
        size, employees, revenue = self.size(level)
        depth = self.plans[parent].depth + 1 if parent is not None else 0
        plan = CompanyPlan(
            legal_name=legal_name,
            short_name=short_name,
            domain=domain,
            region=region,
            address=self.address(region) if self.rng.random() < 0.97 else "",
            industry=division if self.rng.random() < 0.97 else "",
            sector=sector,
            legal_form=legal_form if self.rng.random() < 0.95 else "",
            size=size if self.rng.random() < 0.95 else "",
            employees=employees if self.rng.random() < 0.9 else None,
            revenue=revenue if self.rng.random() < 0.8 else None,
            grade=self.grade(level),
            tags=self.tags(legal_form=legal_form, size=size, sector=sector, foreign=foreign),
            source=self.source(),
            uscc=self.uscc(),
            website=f"www.{domain}" if self.rng.random() < 0.7 and not branch else "",
            parent=parent,
            branch=branch,
            depth=depth,
            contacts=self.rng.choices([1, 2, 3, 4], weights=[40, 35, 17, 8])[0],
        )
        if not branch:
            self.names.add(legal_name)
        self.plans.append(plan)
        return plan

    def standalone(self) -> CompanyPlan | None:
        for _attempt in range(200):
            word, _division, _sector = self.rng.choice(INDUSTRIES)
            region = self.region()
            template = self.rng.choices(
                ["city", "plain", "joint", "llc", "foreign"], weights=[45, 25, 15, 8, 7]
            )[0]
            brand = self.rng.choice(BRAND_FOREIGN if template == "foreign" else self.brands)
            legal_form = Customer.LegalForm.LLC
            if template == "city":
                name = f"{region.short}{brand}{word}有限公司"
            elif template == "plain":
                name = f"{brand}{word}有限公司"
            elif template == "joint":
                name = f"{brand}{word}股份有限公司"
                legal_form = Customer.LegalForm.JOINT_STOCK
            elif template == "llc":
                name = f"{region.short}{brand}{word}有限责任公司"
                if self.rng.random() < 0.5:
                    legal_form = Customer.LegalForm.STATE_OWNED
            else:
                name = f"{brand}（{region.short}）{word}有限公司"
                legal_form = Customer.LegalForm.FOREIGN
            if not self.names.free(name):
                continue
            short = brand + (word[:2] if len(word) >= 4 else word)
            return self._company(
                legal_name=name,
                short_name=short,
                domain=self._domain(f"{_pinyin(brand)}-{self.industry_abbr[word]}"),
                region=region,
                industry=INDUSTRY[word],
                level="alone",
                legal_form=legal_form,
                foreign=template == "foreign",
            )
        return None

    def group(self, budget: int) -> int:
        """Plan one group of at most ``budget`` companies; returns how many."""
        region = self.region()
        name = ""
        while not name and self.group_brands:
            brand = self.group_brands.pop()
            # 瑞达集团 and 恒达集团 are too alike for the duplicate check: a place in front
            # (江苏瑞达集团, 苏州恒达集团) or another legal form tells them apart.
            prefixes = list(dict.fromkeys(["", _province_short(region.province), region.short]))
            self.rng.shuffle(prefixes)
            first = self.rng.choices(
                [s for s, _w in GROUP_SUFFIXES], weights=[w for _s, w in GROUP_SUFFIXES]
            )[0]
            suffixes = [first] + [s for s, _w in GROUP_SUFFIXES if s != first]
            name = next(
                (
                    f"{prefix}{brand}{suffix}"
                    for prefix in prefixes
                    for suffix in suffixes
                    if self.names.free(f"{prefix}{brand}{suffix}")
                ),
                "",
            )
        if not name:
            return 0
        suffix = name[name.index(brand) + len(brand) :]
        words = self.rng.sample(INDUSTRIES, 12)
        main_word = words[0][0]
        form = (
            Customer.LegalForm.JOINT_STOCK
            if "股份" in suffix
            else Customer.LegalForm.STATE_OWNED
            if self.rng.random() < 0.2
            else Customer.LegalForm.LLC
        )
        root_index = len(self.plans)
        self._company(
            legal_name=name,
            short_name=f"{brand}集团",
            domain=self._domain(f"{_pinyin(brand)}group"),
            region=region,
            industry=INDUSTRY[main_word],
            level="root",
            legal_form=form,
        )
        members = 1
        children = self.rng.choices(range(2, 11), weights=[5, 6, 6, 5, 4, 3, 2, 2, 1])[0]
        deep = self.rng.random() < 0.35
        for n in range(children):
            if members >= budget:
                break
            word = words[1 + n][0]
            child = self._subsidiary(brand, word, root_index, region)
            if child is None:
                continue
            members += 1
            if deep and n < 2 and members < budget:
                grandchild = self._deeper(child, brand, words[11][0] if n == 0 else words[10][0])
                if grandchild is not None:
                    members += 1
                    if (
                        n == 0
                        and self.rng.random() < 0.5
                        and members < budget
                        and not self.plans[grandchild].branch
                        and self._branch(grandchild) is not None
                    ):
                        members += 1
        return members

    def _subsidiary(self, brand: str, word: str, parent: int, near: Region) -> int | None:
        region = self.region(near)
        for name in (
            f"{brand}{word}有限公司",
            f"{region.short}{brand}{word}有限公司",
            f"{brand}（{region.short}）{word}有限公司",
        ):
            if self.names.free(name):
                break
        else:
            return None
        self._company(
            legal_name=name,
            short_name=brand + (word[:2] if len(word) >= 4 else word),
            domain=self._domain(f"{_pinyin(brand)}-{self.industry_abbr[word]}"),
            region=region,
            industry=INDUSTRY[word],
            level="child",
            legal_form=self.rng.choices(
                [
                    Customer.LegalForm.LLC,
                    Customer.LegalForm.JOINT_STOCK,
                    Customer.LegalForm.STATE_OWNED,
                ],
                weights=[80, 12, 8],
            )[0],
            parent=parent,
        )
        return len(self.plans) - 1

    def _deeper(self, parent: int, brand: str, word: str) -> int | None:
        if self.rng.random() < 0.5:
            return self._branch(parent)
        return self._subsidiary(brand, word, parent, self.plans[parent].region)

    def _branch(self, parent: int) -> int | None:
        head = self.plans[parent]
        region = self.region(head.region)
        if region.city == head.region.city:
            region = self.rng.choice([r for r in self.regions if r.city != head.region.city])
        name = f"{head.legal_name}{region.short}分公司"
        if any(p.legal_name == name for p in self.plans):
            return None
        self._company(
            legal_name=name,
            short_name=f"{head.short_name}{region.short}分公司",
            domain=head.domain,
            region=region,
            industry=(head.industry, head.sector),
            level="branch",
            legal_form=Customer.LegalForm.BRANCH,
            parent=parent,
            branch=True,
        )
        return len(self.plans) - 1

    def showcase(self) -> None:
        """华夏智造科技 (initials hxzz…), owned by the README's account manager: four
        levels from the group down to a branch."""
        sh = next(r for r in self.regions if r.city == "上海市")
        sz = next(r for r in self.regions if r.city == "苏州市")
        nj = next(r for r in self.regions if r.city == "南京市")
        cz = next(r for r in self.regions if r.city == "常州市")
        rows = [
            ("华夏智造科技有限公司", "华夏智造", "智能装备", sh, None, "root", False),
            ("上海华夏智造机器人有限公司", "华夏智造机器人", "智能装备", sh, 0, "child", False),
            ("华夏智造（苏州）精密机械有限公司", "华夏智造精密", "精密机械", sz, 1, "child", False),
            (
                "华夏智造（苏州）精密机械有限公司南京分公司",
                "华夏智造精密南京分公司",
                "精密机械",
                nj,
                2,
                "branch",
                True,
            ),
            ("华夏智造（常州）电气有限公司", "华夏智造电气", "电气", cz, 0, "child", False),
        ]
        first = len(self.plans)
        for name, short, word, region, parent, level, branch in rows:
            assert branch or self.names.free(name), name
            plan = self._company(
                legal_name=name,
                short_name=short,
                domain="hxzz-tech.com",
                region=region,
                industry=INDUSTRY[word],
                level=level,
                legal_form=Customer.LegalForm.BRANCH if branch else Customer.LegalForm.LLC,
                parent=None if parent is None else first + parent,
                branch=branch,
            )
            plan.relationships = [
                RelPlan(
                    unit="hx-mfg-east-sh",
                    owner=HIGHLIGHTED_OWNER,
                    stage="won" if level == "root" else "intent",
                    grade="A",
                    notes="集团重点客户，明年有新厂区自动化改造计划。" if level == "root" else "",
                )
            ]
            self.quota["hx-mfg-east-sh", HIGHLIGHTED_OWNER] -= 1
        self.plans[first].grade = "key"

    def companies(self) -> list[CompanyPlan]:
        self.showcase()
        group_budget = round(self.count * 0.5)
        while len(self.plans) < group_budget and self.group_brands:
            self.group(group_budget - len(self.plans))
        while len(self.plans) < self.count:
            if self.standalone() is None:
                break
        return self.plans

    # -- relationships -------------------------------------------------------------------

    def _unit_for(self, subsidiary: str, plan: CompanyPlan) -> str:
        big = plan.size == "large" or plan.grade in ("strategic", "key")
        if big and self.rng.random() < 0.12:
            return MANAGER_UNIT[subsidiary]
        if subsidiary != "mfg":
            return SUBSIDIARIES[subsidiary][1]
        sales = plan.region.sales
        if sales == "sh":
            return "hx-mfg-east-sh" if self.rng.random() < 0.9 else "hx-mfg-east"
        if sales == "east":
            near_sh = plan.region.city in ("苏州市", "嘉兴市", "南通市", "无锡市", "杭州市")
            return "hx-mfg-east-sh" if near_sh and self.rng.random() < 0.45 else "hx-mfg-east"
        if sales == "south":
            return "hx-mfg-south"
        return "hx-mfg-east"

    def _room(self, subsidiary: str) -> float:
        """The share of its sales people's quotas a subsidiary has left."""
        service = SUBSIDIARIES[subsidiary][2]
        keys = [
            key
            for key in self.quota
            if key[0].startswith(MANAGER_UNIT[subsidiary]) and key[0] != service
        ]
        left = sum(max(0, self.quota[key]) for key in keys)
        return left / sum(self.initial_quota[key] for key in keys)

    @staticmethod
    def _subsidiary_of(unit: str) -> str | None:
        return next((s for s, u in MANAGER_UNIT.items() if unit.startswith(u)), None)

    @staticmethod
    def _account_unit(plan: CompanyPlan) -> str | None:
        services = {s[2] for s in SUBSIDIARIES.values()}
        for rel in plan.relationships:
            if rel.owner and rel.unit in OWNER_QUOTAS and rel.unit not in {KA_UNIT, *services}:
                return rel.unit
        return None

    def _owner(self, unit: str, *, keep: bool) -> str | None:
        if unit not in OWNER_QUOTAS:
            return None
        owners = [(u, self.quota[unit, u]) for u, _n in OWNER_QUOTAS[unit]]
        if not keep:  # returned to the pool at once: does not use up a quota
            return self.rng.choices(
                [u for u, _q in owners], weights=[n for _u, n in OWNER_QUOTAS[unit]]
            )[0]
        open_ = [(u, q) for u, q in owners if q > 0]
        if not open_:
            return None
        user = self.rng.choices([u for u, _q in open_], weights=[q for _u, q in open_])[0]
        self.quota[unit, user] -= 1
        return user

    def _stage_grade(self, plan: CompanyPlan) -> tuple[str, str]:
        stage = self.rng.choices(["prospect", "intent", "won", "lost"], weights=[25, 30, 35, 10])[0]
        big = plan.size == "large" or plan.grade in ("strategic", "key")
        weights = (40, 40, 15, 5) if big else (15, 45, 33, 7)
        grade = self.rng.choices(["A", "B", "C", ""], weights=weights)[0]
        if stage == "prospect" and self.rng.random() < 0.75:
            grade = ""  # most prospects are not graded yet
        return stage, grade

    def relationships(self) -> None:
        for plan in self.plans:
            if plan.relationships:
                continue
            parent = self.plans[plan.parent] if plan.parent is not None else None
            if plan.source == "exhibition" and parent is None and self.rng.random() < 0.3:
                # A lead from a trade fair: in the marketer's unit's pool, nobody owns it.
                subsidiary = self.rng.choices(list(SUBSIDIARIES), weights=[4, 1, 2, 2])[0]
                marketer, unit = SUBSIDIARIES[subsidiary][3]
                plan.relationships.append(
                    RelPlan(unit=unit, owner=None, stage="prospect", grade="", starter=marketer)
                )
                continue
            affinity = dict(SECTOR_AFFINITY[plan.sector])
            if plan.region.sales in ("north", "west"):
                # 华夏制造 sells through its east and south China departments only.
                affinity["mfg"] = max(1, affinity["mfg"] // 3)
            k = self.rng.choices([1, 2, 3], weights=[86, 11, 3])[0]
            subsidiaries: list[str] = []
            units: list[str] = []
            # Members of a group are often looked after by the unit that has the parent.
            account = self._account_unit(parent) if parent is not None else None
            if account and self.rng.random() < 0.6:
                subsidiaries.append(self._subsidiary_of(account) or "mfg")
                units.append(account)
            # Units whose people are busy take on fewer new customers.
            weights = [w * (0.05 + self._room(s)) for s, w in affinity.items()]
            while len(subsidiaries) < k:
                pick = self.rng.choices(list(affinity), weights=weights)[0]
                if pick not in subsidiaries:
                    subsidiaries.append(pick)
                    units.append(self._unit_for(pick, plan))
            # The group's key-account team looks after the biggest groups.
            top = plan.grade == "strategic" or (plan.grade == "key" and self.rng.random() < 0.3)
            if plan.parent is None and top and len(units) < 3:
                units.append(KA_UNIT)
            for unit in dict.fromkeys(units):
                self._relationship(plan, unit)
            # After-sales units look after customers who buy.
            for subsidiary in subsidiaries:
                service = SUBSIDIARIES[subsidiary][2]
                won = any(
                    r.stage == "won" and r.unit.startswith(MANAGER_UNIT[subsidiary])
                    for r in plan.relationships
                )
                if service and won and len(plan.relationships) < 3 and self.rng.random() < 0.25:
                    owner = self._owner(service, keep=True)
                    if owner:
                        plan.relationships.append(
                            RelPlan(
                                unit=service,
                                owner=owner,
                                stage="won",
                                grade=self.rng.choice(["A", "B", "B", "C"]),
                                starter=SUBSIDIARIES[subsidiary][0],
                            )
                        )

    def _relationship(self, plan: CompanyPlan, unit: str) -> None:
        stage, grade = self._stage_grade(plan)
        if unit == KA_UNIT:
            stage = self.rng.choice(["intent", "won", "won"])
            grade = "A"
        release = self.rng.random() < (0.55 if stage == "lost" else 0.04)
        owner = self._owner(unit, keep=not release)
        subsidiary = self._subsidiary_of(unit)
        if owner is None and subsidiary:
            # This unit's people are full: another unit of the subsidiary, else its pool.
            for other in (SUBSIDIARIES[subsidiary][1], MANAGER_UNIT[subsidiary]):
                if other == unit or any(r.unit == other for r in plan.relationships):
                    continue
                owner = self._owner(other, keep=True)
                if owner:
                    unit = other
                    break
        if any(r.unit == unit for r in plan.relationships):
            return
        if owner is None:
            if unit == KA_UNIT or subsidiary is None:
                return
            plan.relationships.append(
                RelPlan(
                    unit=unit,
                    owner=None,
                    stage="prospect",
                    grade="",
                    starter=SUBSIDIARIES[subsidiary][0],
                )
            )
            return
        notes = ""
        if self.rng.random() < 0.2:
            notes = self.rng.choice(RELATIONSHIP_NOTES).format(n=self.rng.randint(5, 500) * 10)
        protected = 0
        if grade == "A" and stage != "won" and not release and self.rng.random() < 0.25:
            protected = self.rng.randint(15, 60)
        plan.relationships.append(
            RelPlan(
                unit=unit,
                owner=owner,
                stage=stage,
                grade=grade,
                notes=notes,
                protected_days=protected,
                release_reason=self.rng.choice(
                    RELEASE_REASONS[:1] if stage == "lost" else RELEASE_REASONS[1:]
                )
                if release
                else "",
            )
        )

    def followup_counts(self, total: int) -> None:
        owned = [r for p in self.plans for r in p.relationships if r.owner]
        weights = []
        for rel in owned:
            w = {"A": 3.0, "B": 2.0, "C": 1.0, "": 1.0}[rel.grade]
            w *= {"prospect": 0.6, "intent": 1.3, "won": 1.3, "lost": 0.8}[rel.stage]
            weights.append(w)
        scale = total / sum(weights) if weights else 0
        for rel, w in zip(owned, weights, strict=True):
            expected = w * scale
            rel.followups = int(expected) + (self.rng.random() < expected - int(expected))


# --- writing --------------------------------------------------------------------------------


class Loader:
    def __init__(self, rng: random.Random, plans: list[CompanyPlan]) -> None:
        self.rng = rng
        self.plans = plans
        self.now = timezone.now()
        self.today = timezone.localdate(self.now)
        self.units = {u.code: u for u in BusinessUnit.objects.all()}
        self.users = {
            u.username: u
            for u in User.objects.filter(username__in=[p.username for p in DEMO_USERS])
        }
        self.base_actors: dict[str, Actor] = {}
        self.mobiles: set[str] = set()
        self.counts: Counter[str] = Counter()
        self.reclaim_days = {
            code: MFG_POOL_RULE["reclaim_after_days"]
            if code.startswith("hx-mfg")
            else DEFAULT_RECLAIM_DAYS
            for code in self.units
        }

    def actor(self, username: str) -> Actor:
        """A fresh actor (own request id) for one action; memberships loaded once."""
        base = self.base_actors.get(username)
        if base is None:
            base = self.base_actors[username] = Actor(self.users[username])
            base.memberships  # noqa: B018  (loads and caches them)
        actor = Actor(base.user, request_id=uuid.UUID(int=self.rng.getrandbits(128)).hex)
        actor.__dict__["memberships"] = base.memberships
        return actor

    def pool_rule(self) -> None:
        pool_rule_update(
            actor=self.actor("liqiang"), bu_id=self.units["hx-mfg"].pk, **MFG_POOL_RULE
        )
        self.counts["pool_rules"] += 1

    def run(self) -> None:
        for plan in self.plans:
            self.company(plan)

    def company(self, plan: CompanyPlan) -> None:
        first = plan.relationships[0] if plan.relationships else None
        creator = (first.starter or first.owner or "admin") if first else "admin"
        fields: dict[str, Any] = {
            "short_name": plan.short_name,
            "uscc": plan.uscc,
            "legal_form": plan.legal_form,
            "industry": plan.industry,
            "size": plan.size,
            "employees": plan.employees,
            "annual_revenue": plan.revenue,
            "address": plan.address,
            "website": plan.website,
            "group_grade": plan.grade,
            "tags": plan.tags,
            "source": plan.source,
        }
        customer = customer_create(
            actor=self.actor(creator),
            legal_name=plan.legal_name,
            parent_id=self.plans[plan.parent].customer_id if plan.parent is not None else None,
            start_relationship=bool(first and first.owner and not first.starter),
            similar_override_reason=SIMILAR_BRANCH_REASON if plan.branch else "",
            **fields,
        )
        plan.customer_id = customer.pk
        self.counts["customers"] += 1
        rel_ids: list[int] = []
        for i, rel in enumerate(plan.relationships):
            created = i == 0 and bool(rel.owner) and not rel.starter
            rel_ids.append(self.relationship(customer, rel, created=created))
        people = self.contacts(plan, creator)
        for rel, rel_id in zip(plan.relationships, rel_ids, strict=True):
            if rel.owner and rel.followups:
                self.followups(plan, rel, people)
            if rel.release_reason:
                relationship_release(
                    actor=self.actor(rel.owner or "admin"), pk=rel_id, reason=rel.release_reason
                )
                self.counts["released"] += 1
            if (
                rel.owner
                and not rel.release_reason
                and rel.grade == "A"
                and self.rng.random() < 0.15
            ):
                follow_set(
                    actor=self.actor(rel.owner),
                    customer_id=customer.pk,
                    follow=True,
                    digest=self.rng.random() < 0.3,
                )
                self.counts["follows"] += 1

    def relationship(self, customer: Customer, rel: RelPlan, *, created: bool) -> int:
        unit = self.units[rel.unit]
        by = rel.starter or rel.owner or "admin"
        if created:
            relationship = CustomerRelationship.objects.get(customer=customer, bu=unit)
        else:
            relationship = relationship_start(
                actor=self.actor(by),
                customer_id=customer.pk,
                bu_id=unit.pk,
                owner_id=self.users[rel.owner].pk if rel.owner else None,
            )
        self.counts["relationships"] += 1
        if rel.owner is None:
            self.counts["pool_leads"] += 1
        changes: dict[str, Any] = {}
        if rel.stage != CustomerRelationship.Stage.PROSPECT:
            changes["stage"] = rel.stage
        if rel.grade:
            changes["grade"] = rel.grade
        if rel.notes:
            changes["notes"] = rel.notes
        if rel.protected_days:
            changes["protected_until"] = self.today + dt.timedelta(days=rel.protected_days)
        if changes:
            relationship_update(actor=self.actor(by), pk=relationship.pk, **changes)
        return relationship.pk

    # -- contacts ------------------------------------------------------------------------

    def person(self) -> str:
        surname = self.rng.choice(SURNAMES)
        given = "".join(self.rng.choices(GIVEN, k=self.rng.choice([1, 2, 2])))
        return surname + given

    def mobile(self) -> str:
        while True:
            digits = self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randint(0, 99999999):08d}"
            if digits not in self.mobiles:
                self.mobiles.add(digits)
                break
        style = self.rng.random()
        if style < 0.6:
            return digits
        if style < 0.85:
            return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
        return f"+86 {digits[:3]}-{digits[3:7]}-{digits[7:]}"

    def office_phone(self, region: Region) -> str:
        for _attempt in range(5):
            local = str(self.rng.randint(2, 8)) + "".join(
                self.rng.choices("0123456789", k=region.local_digits - 1)
            )
            number = f"{region.area_code}-{local[:4]} {local[4:]}"
            try:
                normalize_phone(number)
            except ValueError:
                continue
            return number
        return ""

    def contacts(self, plan: CompanyPlan, creator: str) -> list[tuple[int, str, str]]:
        """Create the plan's contacts; returns (id, name, title) of those still in post."""
        people: list[tuple[int, str, str]] = []
        used_roles: list[str] = []
        locals_: set[str] = set()
        for i in range(plan.contacts):
            if i == 0:
                role = self.rng.choices(
                    [Contact.Role.DECISION_MAKER, Contact.Role.PURCHASING], weights=[60, 40]
                )[0]
            else:
                options = [r for r in CONTACT_TITLES if r not in used_roles] or list(CONTACT_TITLES)
                role = self.rng.choice(options)
            used_roles.append(role)
            title, department = self.rng.choice(CONTACT_TITLES[role])
            name = self.person()
            surname, given = _pinyin(name[0]), _pinyin(name[1:])
            local = self.rng.choice(
                [
                    f"{surname}{given}",
                    f"{given}.{surname}",
                    f"{surname}.{given}",
                    f"{surname}{given[0]}",
                    f"{given[0]}{surname}",
                ]
            )
            while local in locals_:
                local += str(self.rng.randint(1, 9))
            locals_.add(local)
            fields: dict[str, Any] = {
                "title": title,
                "department": department,
                "role": role,
                "mobile": self.mobile() if self.rng.random() < 0.9 else "",
                "phone": self.office_phone(plan.region) if self.rng.random() < 0.45 else "",
                "email": f"{local}@{plan.domain}" if self.rng.random() < 0.75 else "",
                "preferred_channel": self.rng.choice(
                    ["mobile", "wechat", "wechat", "email", "visit", ""]
                ),
                "status": Contact.Status.LEFT
                if self.rng.random() < 0.04
                else Contact.Status.ACTIVE,
            }
            if self.rng.random() < 0.4:
                fields["wechat_id"] = (
                    f"wxid_{''.join(self.rng.choices('abcdefghijkmnpqrstuvwxyz0123456789', k=14))}"
                    if self.rng.random() < 0.5
                    else f"{surname}{given}{self.rng.randint(1960, 2005)}"
                )
            if self.rng.random() < 0.5:
                lunar = self.rng.random() < 0.2
                fields["birthday"] = dt.date(
                    self.rng.randint(1962, 1996), self.rng.randint(1, 12), self.rng.randint(1, 28)
                )
                fields["birthday_lunar"] = lunar
            if self.rng.random() < 0.15:
                fields["notes"] = self.rng.choice(CONTACT_NOTES)
            contact = contact_create(
                actor=self.actor(creator), customer_id=plan.customer_id, name=name, **fields
            )
            if fields["status"] == Contact.Status.ACTIVE:
                people.append((contact.pk, name, title))
            self.counts["contacts"] += 1
        return people

    # -- follow-ups ----------------------------------------------------------------------

    def _when(self, days_ago: int) -> dt.datetime:
        """A working-hours moment ``days_ago`` days back (weekends mostly moved to Friday),
        never later than a quarter of an hour ago."""
        day = self.today - dt.timedelta(days=days_ago)
        if day.weekday() >= 5 and self.rng.random() < 0.85:
            day -= dt.timedelta(days=day.weekday() - 4)
        minutes = self.rng.randint(8 * 60 + 30, 19 * 60)
        moment = timezone.make_aware(
            dt.datetime.combine(day, dt.time(minutes // 60, minutes % 60, self.rng.randint(0, 59)))
        )
        latest = self.now - dt.timedelta(minutes=15)
        if moment > latest:
            moment = latest - dt.timedelta(minutes=self.rng.randint(0, 180))
        return moment

    def followups(
        self, plan: CompanyPlan, rel: RelPlan, people: list[tuple[int, str, str]]
    ) -> None:
        assert rel.owner is not None
        n = rel.followups
        exposed = rel.stage != "won" and not rel.release_reason and not rel.protected_days
        if exposed:
            # Kept clear of the nightly return to the pool for a week or more.
            latest = self.rng.randint(0, self.reclaim_days[rel.unit] - 8)
        elif rel.release_reason:
            latest = self.rng.randint(20, 200)
        else:
            latest = min(int(self.rng.triangular(0, 364, 0)), 364)
        # The rest since the relationship began (at most a year ago); newest first, so only
        # the first one moves the relationship's last follow-up.
        began = min(364, latest + self.rng.randint(30, 364))
        days = sorted([latest] + [self.rng.randint(latest, began) for _ in range(n - 1)])
        subsidiary = "ka" if rel.unit == KA_UNIT else rel.unit.split("-")[1]
        service = rel.unit in ("hx-mfg-svc", "hx-fin-svc", "hx-tech-cs")
        for i, days_ago in enumerate(days):
            when = self._when(days_ago)
            kind = self.rng.choices(
                [k for k, _w in FOLLOWUP_KINDS], weights=[w for _k, w in FOLLOWUP_KINDS]
            )[0]
            # Many follow-ups name a person without linking the contact record.
            linked = self.rng.choices([0, 1, 2], weights=[55, 37, 8])[0]
            chosen = self.rng.sample(people, k=min(len(people), linked))
            named = chosen or self.rng.sample(people, k=min(len(people), 1))
            who = "、".join(f"{title}{name}" for _pk, name, title in named) or "对接人"
            product = self.rng.choice(OFFERINGS[subsidiary])
            template = self.rng.choice(
                SERVICE_CONTENT if service and kind != FollowUp.Kind.NOTE else CONTENT[kind]
            )
            content = template.format(c=who, p=product, r=self.rng.choice(REACTIONS))
            fields: dict[str, Any] = {}
            if kind != FollowUp.Kind.NOTE:
                fields["outcome"] = self.rng.choice(OUTCOMES)
                if self.rng.random() < 0.7:
                    fields["next_step"] = self.rng.choice(NEXT_STEPS)
                    ahead = self.rng.randint(2, 21) if i == 0 else self.rng.randint(1, 14)
                    fields["next_due"] = timezone.localtime(when).date() + dt.timedelta(days=ahead)
            if kind == FollowUp.Kind.VISIT:
                fields["location"] = (
                    plan.address or f"{plan.region.city}{next(iter(plan.region.districts))}"
                )
            followup_create(
                actor=self.actor(rel.owner),
                customer_id=plan.customer_id,
                kind=kind,
                content=content,
                occurred_at=when,
                contact_ids=[pk for pk, _name, _title in chosen],
                bu_id=self.units[rel.unit].pk,
                **fields,
            )
            self.counts["followups"] += 1


def load_customers(*, rng_seed: int = 2026, count: int = 2000) -> dict[str, int]:
    """Create about ``count`` demo customers for the demo group (which must exist), with
    relationships, contacts and follow-ups, through the services. Returns counts."""
    rng = random.Random(rng_seed)
    planner = Planner(rng, count)
    plans = planner.companies()
    planner.relationships()
    planner.followup_counts(total=count * 4)
    with transaction.atomic():
        loader = Loader(rng, plans)
        loader.pool_rule()
        loader.run()
    counts = dict(loader.counts)
    parents = {p.parent for p in plans if p.parent is not None}
    counts["groups"] = sum(1 for i in parents if plans[i].parent is None)
    counts["pool"] = counts.get("pool_leads", 0) + counts.get("released", 0)
    return counts
