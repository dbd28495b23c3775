"""The tag catalogue of a project: segmint's defaults, the project's tags, and the tags
generated from RFM segments and value layers."""

from __future__ import annotations

from segmint.project.spec_predict import PredictSettings
from segmint.project.spec_profile import LayerSettings, TagSettings, TagSpec
from segmint.traits.rfm import SEGMENTS


def _tag(
    name: str, type_: str, description: str, label_zh: str, rule: str, **extra: str
) -> TagSpec:
    return TagSpec.model_validate(
        {
            "name": name,
            "type": type_,
            "description": description,
            "label_zh": label_zh,
            "rule": rule,
            "owner": "segmint",
            **extra,
        }
    )


DEFAULT_TAGS: tuple[TagSpec, ...] = (
    # basic
    _tag("tier1_city", "basic", "Lives in a tier-1 city.", "一线城市", "city_tier == 1"),
    _tag(
        "young_white_collar_tier1",
        "basic",
        "25-30, tier-1 city, white collar.",
        "一线城市25-30岁白领",
        "age between 25 and 30 and city_tier == 1 and occupation == 'white_collar'",
        sensitivity="sensitive",
    ),
    _tag("b2b_account", "basic", "Business customer.", "企业客户", "is_b2b"),
    _tag(
        "new_member",
        "basic",
        "Registered within the last 90 days.",
        "新会员",
        "registered_at within 90d",
    ),
    _tag(
        "high_income",
        "basic",
        "Upper-middle or high income band.",
        "高收入",
        "income_band in ['upper_middle', 'high']",
        sensitivity="sensitive",
    ),
    # behaviour
    _tag(
        "high_frequency_online_shopper",
        "behaviour",
        "At least 8 orders, 70 % or more of them online.",
        "高频线上购物者",
        "frequency >= 8 and online_share >= 0.7",
    ),
    _tag(
        "offline_loyalist",
        "behaviour",
        "At least 4 orders, mostly in stores.",
        "线下忠实顾客",
        "frequency >= 4 and online_share <= 0.3",
    ),
    _tag(
        "weekend_shopper",
        "behaviour",
        "At least 3 orders, half or more on weekends.",
        "周末购物者",
        "frequency >= 3 and weekend_share >= 0.5",
    ),
    _tag(
        "night_owl",
        "behaviour",
        "Most active between 22:00 and 01:59 local time.",
        "夜猫子",
        "active_hour >= 22 or active_hour < 2",
    ),
    _tag(
        "recent_buyer",
        "behaviour",
        "Bought within the last 30 days.",
        "近30天购买",
        "last_order_at within 30d",
    ),
    _tag(
        "rising_engagement",
        "behaviour",
        "More app/web activity this window than the one before.",
        "活跃度上升",
        "interactions_recent >= 5 and interaction_trend >= 0.3",
    ),
    _tag(
        "campaign_responsive",
        "behaviour",
        "Responds to at least 40 % of campaign messages (5+ received).",
        "营销响应积极",
        "campaign_touches >= 5 and campaign_response_rate >= 0.4",
    ),
    # need
    _tag(
        "beauty_preference",
        "need",
        "Beauty and skin care is the top category by spend.",
        "美妆偏好",
        "top_category == '美妆护肤'",
    ),
    _tag(
        "mother_and_baby_need",
        "need",
        "Mother-and-baby products are the top category by spend.",
        "母婴需求",
        "top_category == '母婴用品'",
    ),
    _tag(
        "digital_enthusiast",
        "need",
        "Electronics and appliances are the top category by spend.",
        "数码爱好者",
        "top_category == '数码家电'",
    ),
    _tag(
        "price_sensitive",
        "need",
        "Half or more of at least 3 orders used a discount.",
        "价格敏感",
        "frequency >= 3 and discount_share >= 0.5",
    ),
    _tag(
        "premium_buyer",
        "need",
        "Average order value of 600 or more.",
        "高客单价",
        "aov >= 600",
    ),
    _tag(
        "service_attention",
        "need",
        "Two or more service contacts in 90 days, or low satisfaction.",
        "服务关注",
        "service_contacts_90d >= 2 or satisfaction_mean <= 2",
    ),
    _tag("promoter", "need", "Latest NPS 9-10.", "推荐者", "nps_category == 'promoter'"),
    _tag("detractor", "need", "Latest NPS 0-6.", "贬损者", "nps_category == 'detractor'"),
    # value
    _tag(
        "big_spender",
        "value",
        "Top monetary score.",
        "高消费",
        "m_score == 5",
    ),
    _tag(
        "lapsing_regular",
        "value",
        "Bought 4+ times but not in the last 90 days.",
        "沉睡老客",
        "frequency >= 4 and recency_days > 90",
    ),
)

RFM_LABELS_ZH = {
    "Champions": "重要价值客户",
    "Loyal": "忠诚客户",
    "Potential Loyalist": "潜在忠诚客户",
    "New": "新客户",
    "Promising": "有潜力客户",
    "Need Attention": "需要关注",
    "About to Sleep": "即将沉睡",
    "Can't Lose Them": "不能失去",
    "At Risk": "流失风险",
    "Lost": "已流失",
    "Hibernating": "休眠客户",
}


def slug(text: str) -> str:
    """A tag-name-safe form of a segment name: "Can't Lose Them" → cant_lose_them."""
    kept = "".join(ch.lower() if ch.isalnum() else " " for ch in text.replace("'", ""))
    return "_".join(kept.split())


def generated_tags(layers: LayerSettings) -> list[TagSpec]:
    """One value tag per named RFM segment and per value layer."""
    rfm = [
        _tag(
            f"rfm_{slug(segment)}",
            "value",
            f"RFM segment {segment}.",
            f"RFM: {RFM_LABELS_ZH.get(segment, segment)}",
            f'rfm_segment == "{segment}"',
        )
        for segment in SEGMENTS
    ]
    layer_tags = [
        _tag(
            f"layer_{layer.name}",
            "value",
            f"Value layer: {layer.label or layer.name}.",
            f"价值分层: {layer.label_zh or layer.label or layer.name}",
            f"value_layer == '{layer.name}'",
        )
        for layer in layers.definitions
    ]
    return rfm + layer_tags


_PREDICTIVE_ZH = {
    "repurchase": "{days}天内复购可能性: {label}",
    "churn": "流失风险({days}天): {label}",
    "clv": "预测客户终身价值: {label}",
}
_BAND_ZH = {
    "unlikely": "低",
    "possible": "中",
    "likely": "高",
    "very_likely": "很高",
    "low": "低",
    "medium": "中",
    "high": "高",
    "top": "顶级",
}


def predictive_tags(predict: PredictSettings) -> list[TagSpec]:
    """One predictive tag per repurchase band, churn-risk level and CLV tier.

    Their members come from `customer_predictions`; the tag catalogue records the model
    version behind each one.
    """
    if not predict.enabled:
        return []
    tags: list[TagSpec] = []
    targets = (
        ("repurchase", predict.repurchase, "repurchase_band", "Repurchase within {days} days"),
        ("churn", predict.churn, "churn_risk", "Churn risk ({days}-day horizon)"),
    )
    for target, settings, column, title in targets:
        if not settings.enabled:
            continue
        cuts = [0.0, *settings.bands, 1.0]
        for label, low, high in zip(settings.labels, cuts[:-1], cuts[1:], strict=True):
            name = f"churn_risk_{label}" if target == "churn" else f"{target}_{label}"
            tags.append(
                _tag(
                    name,
                    "predictive",
                    f"{title.format(days=settings.horizon_days)}: {label.replace('_', ' ')} "
                    f"(calibrated probability {low:.0%}-{high:.0%}).",
                    _PREDICTIVE_ZH[target].format(
                        days=settings.horizon_days, label=_BAND_ZH.get(label, label)
                    ),
                    f"{column} == '{label}'",
                )
            )
    for label in predict.clv.tier_labels:
        tags.append(
            _tag(
                f"clv_{label}",
                "predictive",
                f"Predicted {predict.clv.horizon_days}-day CLV tier: {label}.",
                _PREDICTIVE_ZH["clv"].format(label=_BAND_ZH.get(label, label)),
                f"clv_tier == '{label}'",
            )
        )
    return tags


def project_tags(
    settings: TagSettings, layers: LayerSettings, predict: PredictSettings | None = None
) -> list[TagSpec]:
    """The catalogue in force: defaults (unless disabled), generated tags, project tags.

    A project tag with a default's name replaces it.
    """
    own = {t.name: t for t in settings.definitions}
    tags: list[TagSpec] = []
    if settings.defaults:
        tags.extend(t for t in DEFAULT_TAGS if t.name not in settings.disable)
        generated = generated_tags(layers) + (predictive_tags(predict) if predict else [])
        tags.extend(t for t in generated if t.name not in settings.disable)
    replaced = [own.pop(t.name, t) for t in tags]
    return replaced + list(own.values())
