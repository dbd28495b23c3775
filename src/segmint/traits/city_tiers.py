"""City tiers of mainland China (1 = 一线 … 5 = 四线及以下), the usual commercial ranking.

Tier 2 is the "new tier-1" (新一线) group. The list covers the cities marketing data mostly
holds; a project adds or corrects entries with `profile.city_tiers`. Cities not listed get
no tier (unknown), not a guessed one.
"""

from __future__ import annotations

_TIERS: dict[int, str] = {
    1: "北京 上海 广州 深圳",
    2: "成都 重庆 杭州 武汉 西安 苏州 南京 天津 长沙 郑州 东莞 青岛 沈阳 宁波 昆明 合肥",
    3: "无锡 厦门 福州 济南 大连 佛山 哈尔滨 长春 温州 石家庄 南宁 常州 泉州 南昌 贵阳 "
    "太原 烟台 嘉兴 南通 金华 珠海 惠州 徐州 海口 乌鲁木齐 绍兴 中山 台州 兰州 临沂",
    4: "洛阳 潍坊 扬州 保定 镇江 桂林 唐山 三亚 湖州 呼和浩特 廊坊 银川 芜湖 襄阳 宜昌 赣州 "
    "遵义 绵阳 "
    "西宁 拉萨 汕头 江门 湛江 盐城 淮安 连云港 泰州 宿迁 漳州 莆田 宁德 威海 淄博 济宁 "
    "泰安 德州 聊城 滨州 菏泽 日照 枣庄 东营 邯郸 邢台 沧州 衡水 秦皇岛 张家口 承德 大同 "
    "晋中 运城 临汾 长治 包头 鄂尔多斯 赤峰 鞍山 抚顺 锦州 营口 吉林 大庆 齐齐哈尔 牡丹江 "
    "蚌埠 安庆 阜阳 马鞍山 九江 上饶 吉安 宜春 新乡 南阳 许昌 安阳 平顶山 开封 焦作 信阳 "
    "荆州 黄石 十堰 孝感 岳阳 常德 衡阳 株洲 湘潭 郴州 柳州 北海 玉林 德阳 宜宾 泸州 乐山 "
    "大理 榆林 宝鸡 咸阳 渭南 汉中 舟山 丽水 衢州 梅州 清远 肇庆 茂名 揭阳 潮州 韶关 阳江",
    5: "曲靖 南充 周口 商丘 邵阳 天水 黄冈 六安 丽江 毕节 驻马店 漯河 三门峡 鹤壁 濮阳 亳州 "
    "宿州 淮南 淮北 铜陵 池州 黄山 宣城 滁州 抚州 景德镇 萍乡 新余 鹰潭 随州 咸宁 鄂州 "
    "荆门 恩施 永州 怀化 娄底 益阳 张家界 达州 广安 遂宁 内江 自贡 攀枝花 巴中 雅安 眉山 "
    "资阳 广元 安顺 六盘水 铜仁 玉溪 保山 昭通 普洱 临沧 商洛 安康 延安 铜川 白银 定西 "
    "酒泉 张掖 武威 嘉峪关 固原 吴忠 中卫 石嘴山 克拉玛依 喀什 伊犁 阿克苏",
}

CITY_TIERS: dict[str, int] = {
    city: tier for tier, names in _TIERS.items() for city in names.split()
}


def city_tier_table(extra: dict[str, int]) -> dict[str, int]:
    """The built-in tiers with a project's additions and corrections applied.

    Names are matched with and without the 市 suffix, so "上海市" and "上海" both resolve.
    """
    merged = {**CITY_TIERS, **{k.strip().removesuffix("市"): v for k, v in extra.items()}}
    with_suffix = {f"{city}市": tier for city, tier in merged.items()}
    return {**merged, **with_suffix}
