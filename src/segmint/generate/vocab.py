"""Static vocabularies: names, places, products, topics.

Everything here is plain data. Generators index into these tuples with numpy arrays, so the
order of entries is part of the output and must not change casually (it would change every
generated file for a given seed).
"""

from __future__ import annotations

# (hanzi, pinyin, relative frequency) — the most common Chinese surnames.
# fmt: off
SURNAMES: tuple[tuple[str, str, float], ...] = (
    ("王", "wang", 7.1), ("李", "li", 7.0), ("张", "zhang", 6.7), ("刘", "liu", 5.4),
    ("陈", "chen", 4.5), ("杨", "yang", 3.1), ("黄", "huang", 2.2), ("赵", "zhao", 2.1),
    ("吴", "wu", 2.0), ("周", "zhou", 1.9), ("徐", "xu", 1.3), ("孙", "sun", 1.3),
    ("马", "ma", 1.2), ("朱", "zhu", 1.1), ("胡", "hu", 1.1), ("郭", "guo", 1.1), ("何", "he", 1.0),
    ("高", "gao", 1.0), ("林", "lin", 1.0), ("罗", "luo", 0.9), ("郑", "zheng", 0.9),
    ("梁", "liang", 0.9), ("谢", "xie", 0.7), ("宋", "song", 0.7), ("唐", "tang", 0.7),
    ("许", "xu", 0.7), ("韩", "han", 0.6), ("冯", "feng", 0.6), ("邓", "deng", 0.6),
    ("曹", "cao", 0.6), ("彭", "peng", 0.6), ("曾", "zeng", 0.5), ("肖", "xiao", 0.5),
    ("田", "tian", 0.5), ("董", "dong", 0.5), ("袁", "yuan", 0.5), ("潘", "pan", 0.4),
    ("于", "yu", 0.4), ("蒋", "jiang", 0.4), ("蔡", "cai", 0.4), ("余", "yu", 0.4),
    ("杜", "du", 0.4), ("叶", "ye", 0.4), ("程", "cheng", 0.4), ("苏", "su", 0.4),
    ("魏", "wei", 0.4), ("吕", "lv", 0.4), ("丁", "ding", 0.4), ("任", "ren", 0.3),
    ("沈", "shen", 0.3), ("姚", "yao", 0.3), ("卢", "lu", 0.3), ("姜", "jiang", 0.3),
    ("崔", "cui", 0.3), ("钟", "zhong", 0.3), ("谭", "tan", 0.3), ("陆", "lu", 0.3),
    ("汪", "wang", 0.3), ("范", "fan", 0.3), ("金", "jin", 0.3), ("石", "shi", 0.3),
    ("廖", "liao", 0.3), ("贾", "jia", 0.3), ("夏", "xia", 0.3), ("韦", "wei", 0.3),
    ("付", "fu", 0.3), ("方", "fang", 0.3), ("白", "bai", 0.2), ("邹", "zou", 0.2),
    ("孟", "meng", 0.2), ("熊", "xiong", 0.2), ("秦", "qin", 0.2), ("邱", "qiu", 0.2),
    ("江", "jiang", 0.2), ("尹", "yin", 0.2), ("薛", "xue", 0.2), ("段", "duan", 0.2),
    ("雷", "lei", 0.2), ("侯", "hou", 0.2), ("龙", "long", 0.2), ("史", "shi", 0.2),
    ("陶", "tao", 0.2), ("黎", "li", 0.2), ("贺", "he", 0.2), ("顾", "gu", 0.2), ("毛", "mao", 0.2),
    ("郝", "hao", 0.2), ("龚", "gong", 0.2), ("邵", "shao", 0.2), ("万", "wan", 0.2),
    ("钱", "qian", 0.2), ("严", "yan", 0.2), ("武", "wu", 0.2), ("戴", "dai", 0.2),
    ("莫", "mo", 0.1), ("孔", "kong", 0.1), ("向", "xiang", 0.1), ("汤", "tang", 0.1),
    ("欧阳", "ouyang", 0.05), ("上官", "shangguan", 0.02),
)
# fmt: on

# Given-name characters (hanzi, pinyin), leaning female / male.
# fmt: off
GIVEN_FEMALE: tuple[tuple[str, str], ...] = (
    ("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"), ("艳", "yan"),
    ("娟", "juan"), ("霞", "xia"), ("秀", "xiu"), ("玲", "ling"), ("婷", "ting"), ("雪", "xue"),
    ("慧", "hui"), ("莹", "ying"), ("琳", "lin"), ("欣", "xin"), ("怡", "yi"), ("佳", "jia"),
    ("悦", "yue"), ("梦", "meng"), ("雨", "yu"), ("晨", "chen"), ("璐", "lu"), ("瑶", "yao"),
    ("倩", "qian"), ("颖", "ying"), ("洁", "jie"), ("蕾", "lei"), ("薇", "wei"), ("萱", "xuan"),
    ("诗", "shi"), ("涵", "han"), ("琪", "qi"), ("晓", "xiao"), ("月", "yue"), ("兰", "lan"),
    ("菲", "fei"), ("妍", "yan"), ("思", "si"), ("可", "ke"), ("心", "xin"), ("宁", "ning"),
    ("楠", "nan"), ("彤", "tong"), ("露", "lu"), ("婉", "wan"), ("清", "qing"), ("嘉", "jia"),
)
# fmt: on
# fmt: off
GIVEN_MALE: tuple[tuple[str, str], ...] = (
    ("伟", "wei"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"),
    ("杰", "jie"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("鹏", "peng"), ("华", "hua"),
    ("飞", "fei"), ("斌", "bin"), ("浩", "hao"), ("宇", "yu"), ("凯", "kai"), ("俊", "jun"),
    ("峰", "feng"), ("辉", "hui"), ("建", "jian"), ("国", "guo"), ("文", "wen"), ("刚", "gang"),
    ("健", "jian"), ("博", "bo"), ("志", "zhi"), ("成", "cheng"), ("天", "tian"), ("宏", "hong"),
    ("亮", "liang"), ("轩", "xuan"), ("铭", "ming"), ("睿", "rui"), ("泽", "ze"), ("昊", "hao"),
    ("然", "ran"), ("翔", "xiang"), ("哲", "zhe"), ("旭", "xu"), ("阳", "yang"), ("振", "zhen"),
    ("海", "hai"), ("林", "lin"), ("东", "dong"), ("波", "bo"), ("龙", "long"), ("鑫", "xin"),
)
# fmt: on

# English given names (name, a common misspelling) and family names.
# fmt: off
ENGLISH_FEMALE: tuple[tuple[str, str], ...] = (
    ("Emma", "Ema"), ("Olivia", "Olivai"), ("Sophia", "Sofia"), ("Grace", "Grase"),
    ("Chloe", "Cloe"), ("Lily", "Lilly"), ("Amy", "Aimy"), ("Vivian", "Vivien"), ("Cindy", "Cindi"),
    ("Helen", "Hellen"), ("Jessica", "Jesica"), ("Linda", "Lynda"), ("Sarah", "Sara"),
    ("Anna", "Ana"), ("Kelly", "Kelley"), ("Coco", "Koko"),
)
# fmt: on
# fmt: off
ENGLISH_MALE: tuple[tuple[str, str], ...] = (
    ("James", "Jame"), ("David", "Davide"), ("Michael", "Micheal"), ("Kevin", "Kevn"),
    ("Jason", "Jayson"), ("Eric", "Erik"), ("Tony", "Toni"), ("Leo", "Loe"), ("Daniel", "Danial"),
    ("Peter", "Petr"), ("Jack", "Jak"), ("Ryan", "Rian"), ("Frank", "Franc"), ("Steven", "Stephen"),
    ("Allen", "Alan"), ("Victor", "Viktor"),
)
# fmt: on
# fmt: off
ENGLISH_SURNAMES: tuple[str, ...] = (
    "Smith", "Johnson", "Brown", "Taylor", "Miller", "Wilson", "Moore", "Anderson", "Thomas",
    "Martin", "Lee", "Walker", "Young", "King", "Scott", "Green",
)
# fmt: on

# (province full name, province short name, city, city tier, relative weight).
# Tier 1 = 一线, 2 = 新一线, 3 = 二线, 4 = 三线, 5 = 四线及以下.
# fmt: off
CITIES: tuple[tuple[str, str, str, int, float], ...] = (
    ("北京市", "北京", "北京", 1, 9.0), ("上海市", "上海", "上海", 1, 9.0),
    ("广东省", "广东", "广州", 1, 7.0), ("广东省", "广东", "深圳", 1, 7.0),
    ("四川省", "四川", "成都", 2, 5.0), ("重庆市", "重庆", "重庆", 2, 5.0),
    ("浙江省", "浙江", "杭州", 2, 5.0), ("湖北省", "湖北", "武汉", 2, 4.5),
    ("陕西省", "陕西", "西安", 2, 4.0), ("江苏省", "江苏", "苏州", 2, 4.0),
    ("江苏省", "江苏", "南京", 2, 4.0), ("天津市", "天津", "天津", 2, 4.0),
    ("湖南省", "湖南", "长沙", 2, 3.5), ("河南省", "河南", "郑州", 2, 3.5),
    ("广东省", "广东", "东莞", 2, 3.0), ("山东省", "山东", "青岛", 2, 3.0),
    ("辽宁省", "辽宁", "沈阳", 2, 3.0), ("浙江省", "浙江", "宁波", 2, 3.0),
    ("云南省", "云南", "昆明", 2, 3.0), ("安徽省", "安徽", "合肥", 2, 3.0),
    ("江苏省", "江苏", "无锡", 3, 2.0), ("福建省", "福建", "厦门", 3, 2.0),
    ("福建省", "福建", "福州", 3, 2.0), ("山东省", "山东", "济南", 3, 2.0),
    ("辽宁省", "辽宁", "大连", 3, 2.0), ("广东省", "广东", "佛山", 3, 2.0),
    ("黑龙江省", "黑龙江", "哈尔滨", 3, 2.0), ("吉林省", "吉林", "长春", 3, 1.8),
    ("浙江省", "浙江", "温州", 3, 1.8), ("河北省", "河北", "石家庄", 3, 1.8),
    ("广西壮族自治区", "广西", "南宁", 3, 1.6), ("江苏省", "江苏", "常州", 3, 1.5),
    ("福建省", "福建", "泉州", 3, 1.5), ("江西省", "江西", "南昌", 3, 1.6),
    ("贵州省", "贵州", "贵阳", 3, 1.5), ("山西省", "山西", "太原", 3, 1.5),
    ("山东省", "山东", "烟台", 3, 1.2), ("浙江省", "浙江", "嘉兴", 3, 1.2),
    ("江苏省", "江苏", "南通", 3, 1.2), ("浙江省", "浙江", "金华", 3, 1.2),
    ("广东省", "广东", "珠海", 3, 1.0), ("广东省", "广东", "惠州", 3, 1.0),
    ("江苏省", "江苏", "徐州", 3, 1.2), ("海南省", "海南", "海口", 3, 1.0),
    ("新疆维吾尔自治区", "新疆", "乌鲁木齐", 3, 1.0), ("浙江省", "浙江", "绍兴", 3, 1.0),
    ("广东省", "广东", "中山", 3, 1.0), ("浙江省", "浙江", "台州", 3, 1.0),
    ("甘肃省", "甘肃", "兰州", 3, 1.0), ("河南省", "河南", "洛阳", 4, 0.8),
    ("山东省", "山东", "潍坊", 4, 0.8), ("河北省", "河北", "保定", 4, 0.8),
    ("江苏省", "江苏", "镇江", 4, 0.6), ("江苏省", "江苏", "扬州", 4, 0.6),
    ("广西壮族自治区", "广西", "桂林", 4, 0.6), ("河北省", "河北", "唐山", 4, 0.7),
    ("海南省", "海南", "三亚", 4, 0.5), ("浙江省", "浙江", "湖州", 4, 0.6),
    ("内蒙古自治区", "内蒙古", "呼和浩特", 4, 0.6), ("河北省", "河北", "廊坊", 4, 0.6),
    ("宁夏回族自治区", "宁夏", "银川", 4, 0.5), ("安徽省", "安徽", "芜湖", 4, 0.6),
    ("湖北省", "湖北", "襄阳", 4, 0.6), ("湖北省", "湖北", "宜昌", 4, 0.6),
    ("江西省", "江西", "赣州", 4, 0.6), ("贵州省", "贵州", "遵义", 4, 0.6),
    ("四川省", "四川", "绵阳", 4, 0.6), ("青海省", "青海", "西宁", 4, 0.4),
    ("西藏自治区", "西藏", "拉萨", 4, 0.2), ("云南省", "云南", "曲靖", 5, 0.5),
    ("四川省", "四川", "南充", 5, 0.5), ("河南省", "河南", "周口", 5, 0.5),
    ("河南省", "河南", "商丘", 5, 0.5), ("湖南省", "湖南", "邵阳", 5, 0.4),
    ("甘肃省", "甘肃", "天水", 5, 0.3), ("湖北省", "湖北", "黄冈", 5, 0.4),
    ("安徽省", "安徽", "六安", 5, 0.4), ("云南省", "云南", "丽江", 5, 0.2),
    ("贵州省", "贵州", "毕节", 5, 0.3),
)
# fmt: on

# Product categories: (name, sku prefix, median price in yuan, product nouns, brands).
# fmt: off
CATEGORIES: tuple[tuple[str, str, float, tuple[str, ...], tuple[str, ...]], ...] = (
    ("美妆护肤", "BT", 180.0, (
        "精华液", "面霜", "洁面乳", "口红", "粉底液", "面膜", "爽肤水", "眼霜", "防晒霜", "卸妆油",
     ), (
        "澜影", "沐颜", "花语集", "素肌研", "悦白", "初禾",
    )),
    ("服饰鞋包", "AP", 220.0, (
        "连衣裙", "T恤", "牛仔裤", "羽绒服", "运动鞋", "衬衫", "卫衣", "双肩包", "风衣", "针织衫",
     ), (
        "北岸", "简屿", "城野", "暖洲", "素衣坊", "行止",
    )),
    ("家居家装", "HM", 150.0, (
        "四件套", "收纳箱", "乳胶枕", "保温杯", "香薰", "地毯", "台灯", "餐具套装", "毛巾", "窗帘",
     ), (
        "栖木", "宜居坊", "安眠谷", "原木纪", "拾光",
    )),
    ("食品生鲜", "FD", 45.0, (
        "坚果礼盒", "纯牛奶", "咖啡豆", "五常大米", "零食大礼包", "茶叶", "橄榄油", "牛排",
        "当季水果", "巧克力",
     ), (
        "山野鲜", "田园记", "谷丰", "茗香阁", "甜心坊",
    )),
    ("数码家电", "EL", 900.0, (
        "蓝牙耳机", "智能手表", "扫地机器人", "电饭煲", "吹风机", "充电宝", "平板电脑",
        "空气净化器", "咖啡机", "显示器",
     ), (
        "极光", "声悦", "智电", "星曜", "迅驰", "拓界",
    )),
    ("母婴用品", "BB", 160.0, (
        "纸尿裤", "婴儿奶粉", "婴儿推车", "儿童绘本", "安抚玩具", "婴儿湿巾", "宝宝辅食", "婴儿服",
        "奶瓶", "儿童餐椅",
     ), (
        "贝乐", "童趣岛", "小象宝", "暖芽", "乐宝",
    )),
    ("运动户外", "SP", 260.0, (
        "瑜伽垫", "跑步鞋", "帐篷", "登山包", "健身手环", "哑铃", "骑行服", "速干衣", "羽毛球拍",
        "泳镜",
     ), (
        "驰野", "跃动", "峰行", "极限派", "轻跑",
    )),
    ("个护清洁", "PC", 40.0, (
        "洗发水", "沐浴露", "牙膏", "洗衣液", "抽纸", "电动牙刷", "剃须刀", "护手霜", "洗手液",
        "漱口水",
     ), (
        "净颜", "清泉", "白云朵", "洁丽", "舒适家",
    )),
    ("图书文具", "BK", 35.0, (
        "长篇小说", "笔记本", "钢笔", "绘画套装", "考试教辅", "文件夹", "儿童百科", "书法字帖",
        "台历", "便利贴",
     ), (
        "文渊", "墨香", "书山", "青藤", "学友",
    )),
    ("宠物用品", "PT", 70.0, (
        "猫粮", "狗粮", "猫砂", "宠物玩具", "牵引绳", "猫爬架", "宠物零食", "宠物窝", "驱虫药",
        "宠物香波",
     ), (
        "萌宠家", "喵星球", "汪仔", "毛孩子", "宠乐",
    )),
    ("办公用品", "OF", 120.0, (
        "打印纸", "激光打印机", "办公椅", "投影仪", "碎纸机", "签字笔", "文件柜", "白板", "订书机",
        "硒鼓",
     ), (
        "文远", "捷印", "众力", "博达", "迅办",
    )),
)
# fmt: on
# fmt: off
VARIANTS: tuple[str, ...] = (
    "经典款", "升级版", "礼盒装", "轻薄款", "大容量", "Pro", "家庭装", "限定款", "基础款", "旗舰款",
)
# fmt: on
SEARCH_PREFIXES_PLAIN: tuple[str, ...] = ("", "", "", "新款", "推荐", "正品", "好用的")
SEARCH_PREFIXES_DEAL: tuple[str, ...] = ("特价", "便宜", "优惠券", "打折", "清仓", "包邮")

# fmt: off
STORE_SUFFIXES: tuple[str, ...] = (
    "中心店", "万象城店", "步行街店", "东站店", "新区店", "高新店", "滨江店", "大学城店", "西湖店",
    "南山店", "广场店", "天街店",
)
# fmt: on
PAYMENTS_ONLINE: tuple[str, ...] = ("alipay", "wechat_pay", "unionpay", "credit_card", "huabei")
PAYMENT_B2B = "corporate_transfer"
PAYMENTS_STORE: tuple[str, ...] = ("微信支付", "支付宝", "现金", "银行卡", "储值卡")
REGISTER_CHANNELS: tuple[str, ...] = ("APP", "小程序", "官网", "门店")
MEMBER_LEVELS: tuple[str, ...] = ("普通会员", "银卡会员", "金卡会员", "钻石会员")
# (canonical code, CRM label); codes in the order of entities.OCCUPATIONS.
OCCUPATIONS: tuple[tuple[str, str], ...] = (
    ("white_collar", "白领"),
    ("blue_collar", "蓝领"),
    ("student", "学生"),
    ("self_employed", "个体/自由职业"),
    ("civil_servant", "公务员/事业单位"),
    ("retired", "退休"),
    ("homemaker", "家庭主妇/主夫"),
    ("other", "其他"),
)
# (canonical code, CRM 月收入 label, lower bound in CNY per month); entities.INCOME_BANDS order.
INCOME_BANDS: tuple[tuple[str, str, int], ...] = (
    ("low", "5千以下", 0),
    ("lower_middle", "5千-1万", 5_000),
    ("middle", "1万-2万", 10_000),
    ("upper_middle", "2万-5万", 20_000),
    ("high", "5万以上", 50_000),
)

# fmt: off
EMAIL_DOMAINS: tuple[tuple[str, float], ...] = (
    ("qq.com", 0.35), ("163.com", 0.2), ("126.com", 0.08), ("gmail.com", 0.07),
    ("outlook.com", 0.07), ("sina.com", 0.06), ("foxmail.com", 0.06), ("hotmail.com", 0.05),
    ("139.com", 0.03), ("icloud.com", 0.03),
)
# fmt: on
# A plausible mistyped version of each domain above (same order). All still look valid.
# fmt: off
EMAIL_DOMAIN_TYPOS: tuple[str, ...] = (
    "qq.cm", "136.com", "162.com", "gmial.com", "outlok.com", "sian.com", "foxmial.com",
    "hotmial.com", "193.com", "iclod.com",
)
# fmt: on

TICKET_CHANNELS: tuple[str, ...] = ("电话", "在线客服", "邮件", "门店", "微信")
# fmt: off
TICKET_TOPICS: tuple[str, ...] = (
    "退换货", "物流查询", "商品质量", "发票开具", "会员积分", "优惠券使用", "支付问题", "账户问题",
    "投诉建议", "售后维修", "批量采购",
)
# fmt: on
SURVEY_NAMES: tuple[str, ...] = ("季度NPS调研", "购后满意度回访", "会员体验调研")
# fmt: off
COMMENTS_LOW: tuple[str, ...] = (
    "物流太慢了", "客服态度一般", "商品质量不如预期", "退款处理很慢", "价格比别家贵",
    "包装破损, 体验很差", "会员权益越来越少",
)
# fmt: on
# fmt: off
COMMENTS_MID: tuple[str, ...] = (
    "整体还可以", "价格再优惠点就好了", "包装不错", "发货速度一般", "款式可以再多一些",
)
# fmt: on
# fmt: off
COMMENTS_HIGH: tuple[str, ...] = (
    "非常满意，会继续回购", "会员服务很贴心", "已经推荐给朋友了", "品质稳定, 值得信赖",
    "门店导购很专业", "物流很快",
)
# fmt: on

# fmt: off
COMPANY_WORDS: tuple[str, ...] = (
    "瑞丰", "华信", "恒达", "鼎盛", "宏远", "嘉禾", "新力", "博雅", "金桥", "天元", "汇通", "众诚",
    "盛世", "佳和", "启明", "联创",
)
# fmt: on
# (industry, company-name suffix)
# fmt: off
INDUSTRIES: tuple[tuple[str, str], ...] = (
    ("批发零售", "贸易有限公司"), ("信息技术", "科技有限公司"), ("餐饮", "餐饮管理有限公司"),
    ("教育", "教育咨询有限公司"), ("制造业", "实业有限公司"), ("物业服务", "物业服务有限公司"),
    ("医疗健康", "医疗器械有限公司"), ("酒店住宿", "酒店管理有限公司"),
)
# fmt: on

# Promotional campaigns: (name, month, day, channels).
# fmt: off
CAMPAIGNS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("女神节", 3, 6, ("sms", "app_push")),
    ("618年中大促", 6, 15, ("sms", "email", "wechat", "app_push")),
    ("开学季", 8, 25, ("email", "wechat")), ("国庆黄金周", 9, 28, ("sms", "wechat")),
    ("双11狂欢节", 11, 8, ("sms", "email", "wechat", "app_push")),
    ("双12年终盛典", 12, 10, ("sms", "app_push")), ("年货节", 1, 10, ("sms", "wechat", "email")),
)
# fmt: on

PAGE_NAMES: tuple[str, ...] = ("首页", "商品详情", "搜索结果", "购物车", "个人中心", "活动会场")
PAGE_PATHS: tuple[str, ...] = ("/", "/item", "/search", "/cart", "/me", "/promo")
SHOP_URL = "https://www.linhai-shop.example.cn"
