"""Deterministic persona names (English and Chinese) and priorities from a card's traits.

A name is built from the cluster's strongest distinguishing traits: categorical levels with
a lift of at least 1.5 held by at least 40 % of the cluster, and numeric traits with
|Cohen's d| ≥ 0.5, strongest first, at most three, each looked up in a small phrase table
per trait and direction. Traits without a phrase are skipped. Same input, same name.
"""

from __future__ import annotations

from dataclasses import dataclass

# (column, direction) -> (English, Chinese); direction "+" above the base, "-" below
NUMERIC_PHRASES: dict[tuple[str, str], tuple[str, str]] = {
    ("aov", "+"): ("high-ticket", "高客单价"),
    ("aov", "-"): ("low-ticket", "低客单价"),
    ("monetary_365d", "+"): ("high spend", "高消费"),
    ("monetary_365d", "-"): ("low spend", "低消费"),
    ("monetary", "+"): ("high lifetime spend", "累计高消费"),
    ("monetary", "-"): ("low lifetime spend", "累计低消费"),
    ("frequency", "+"): ("frequent buyers", "高频购买"),
    ("frequency", "-"): ("one-off buyers", "低频购买"),
    ("recency_days", "+"): ("lapsed", "久未购买"),
    ("recency_days", "-"): ("recently active", "近期活跃"),
    ("tenure_days", "+"): ("long-standing", "老客"),
    ("tenure_days", "-"): ("newcomers", "新客"),
    ("online_share", "+"): ("online", "线上"),
    ("online_share", "-"): ("in-store", "线下门店"),
    ("active_hour", "+"): ("night-time", "夜间活跃"),
    ("active_hour", "-"): ("office-hours", "工作时段"),
    ("brands", "+"): ("multi-brand", "多品牌"),
    ("brands", "-"): ("few-brand", "少品牌"),
    ("price_index", "+"): ("premium", "偏好高端"),
    ("price_index", "-"): ("budget", "偏好平价"),
    ("miniprogram_share", "+"): ("mini-program", "小程序"),
    ("offline_share", "+"): ("store-loyal", "门店常客"),
    ("deal_event_share", "+"): ("coupon-hunting", "爱领券"),
    ("research_share", "+"): ("research-first", "先研究后购买"),
    ("research_share", "-"): ("impulse", "冲动购买"),
    ("discount_share", "+"): ("deal-seeking", "爱优惠"),
    ("discount_share", "-"): ("full-price", "原价购买"),
    ("campaign_response_rate", "+"): ("campaign-responsive", "营销响应高"),
    ("campaign_response_rate", "-"): ("campaign-deaf", "营销响应低"),
    ("top_category_share", "+"): ("single-category", "品类专一"),
    ("top_category_share", "-"): ("cross-category", "跨品类"),
    ("campaign_touches", "+"): ("often reached", "常被触达"),
    ("campaign_touches", "-"): ("rarely reached", "少被触达"),
    ("company_size", "+"): ("large companies", "大型企业"),
    ("company_size", "-"): ("small companies", "小型企业"),
    ("interpurchase_days_mean", "+"): ("long cycle", "购买周期长"),
    ("interpurchase_days_mean", "-"): ("short cycle", "购买周期短"),
    ("events_total", "+"): ("heavy browsers", "高互动"),
    ("events_total", "-"): ("light browsers", "低互动"),
    ("satisfaction_mean", "+"): ("satisfied", "满意度高"),
    ("satisfaction_mean", "-"): ("dissatisfied", "满意度低"),
    ("nps_latest", "+"): ("promoters", "口碑好"),
    ("nps_latest", "-"): ("detractors", "口碑差"),
    ("age", "+"): ("older", "年长"),
    ("age", "-"): ("younger", "年轻"),
}
# (column, level) -> (English, Chinese)
LEVEL_PHRASES: dict[tuple[str, str], tuple[str, str]] = {
    ("is_b2b", "true"): ("business accounts", "企业客户"),
    ("customer_type", "b2b"): ("business accounts", "企业客户"),
    ("preferred_channel", "online"): ("web shoppers", "网店"),
    ("preferred_channel", "app"): ("app shoppers", "App"),
    ("preferred_channel", "miniprogram"): ("mini-program shoppers", "小程序"),
    ("preferred_channel", "offline"): ("store shoppers", "门店"),
    ("city_tier", "1"): ("tier-1 city", "一线城市"),
    ("city_tier", "2"): ("tier-2 city", "二线城市"),
    ("gender", "F"): ("female", "女性"),
    ("gender", "M"): ("male", "男性"),
    ("age_band", "18-24"): ("18–24", "18-24岁"),
    ("age_band", "25-29"): ("25–29", "25-29岁"),
    ("age_band", "30-34"): ("30–34", "30-34岁"),
    ("age_band", "35-39"): ("35–39", "35-39岁"),
    ("age_band", "40-49"): ("40–49", "40-49岁"),
    ("age_band", "50-59"): ("50–59", "50-59岁"),
    ("age_band", "60+"): ("60+", "60岁以上"),
    ("nps_category", "detractor"): ("detractors", "贬损者"),
}
D_MIN = 0.5
LIFT_MIN = 1.5
SHARE_MIN = 0.4
MAX_PHRASES = 3
PRIORITIES = ("high_value", "high_potential", "maintain", "win_back")


@dataclass(frozen=True)
class Trait:
    """One distinguishing trait of a cluster: a numeric effect or a categorical level."""

    column: str
    effect: float  # Cohen's d (numeric) or lift - 1 (categorical)
    level: str | None = None
    share: float = 0.0  # categorical: share of the cluster holding the level


def _phrase(trait: Trait) -> tuple[str, str] | None:
    if trait.level is not None:
        if trait.effect + 1 < LIFT_MIN or trait.share < SHARE_MIN:
            return None
        return LEVEL_PHRASES.get((trait.column, trait.level))
    if abs(trait.effect) < D_MIN:
        return None
    # active_hour is read on the clock face (cos24): + is near midnight, - near noon
    return NUMERIC_PHRASES.get((trait.column, "+" if trait.effect > 0 else "-"))


# phrases that say the same thing; a name uses the first of a group it meets
SAME_MEANING: tuple[frozenset[str], ...] = (
    frozenset({"in-store", "store shoppers"}),
    frozenset({"online", "web shoppers"}),
    frozenset({"business accounts"}),
)


def _says_again(phrase: tuple[str, str], chosen: list[tuple[str, str]]) -> bool:
    used = {p[0] for p in chosen}
    return any(phrase[0] in group and used & group for group in SAME_MEANING)


# Spend traits whose effect (on the model's log / rank scale: the typical member) can
# disagree with the cluster's share of spend (the mean, which a few heavy spenders elsewhere
# dominate). A name that says "high spend" over a revenue index below 1 misleads.
SPEND_COLUMNS = frozenset({"monetary_365d", "monetary"})


def _contradicted(trait: Trait, spend_index: float | None) -> bool:
    if spend_index is None or trait.level is not None or trait.column not in SPEND_COLUMNS:
        return False
    return spend_index < 1.0 if trait.effect > 0 else spend_index > 1.0


def persona_name(traits: list[Trait], spend_index: float | None = None) -> tuple[str, str]:
    """(English, Chinese) name from the strongest phrased traits; 'mainstream customers'
    when none stands out.

    `spend_index` (the cluster's share of spend over its share of customers) vetoes a spend
    phrase it contradicts: no "high spend" below 1, no "low spend" above 1.
    """
    ordered = sorted(traits, key=lambda t: (-abs(t.effect), t.column, t.level or ""))
    phrases: list[tuple[str, str]] = []
    for trait in ordered:
        phrase = None if _contradicted(trait, spend_index) else _phrase(trait)
        if phrase is not None and phrase not in phrases and not _says_again(phrase, phrases):
            phrases.append(phrase)
        if len(phrases) == MAX_PHRASES:
            break
    if not phrases:
        return "mainstream customers", "大众客群"
    en = ", ".join(p[0] for p in phrases)
    zh = "".join(p[1] for p in phrases) + "人群"
    return en, zh


def unique_names(names: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Names made unique by a running number on repeats (order kept)."""
    seen: dict[tuple[str, str], int] = {}
    out: list[tuple[str, str]] = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        if seen[name] == 1:
            out.append(name)
        else:
            out.append((f"{name[0]} ({seen[name]})", f"{name[1]}（{seen[name]}）"))
    return out


def priority(
    value_index: float,
    recency_ratio: float,
    tenure_ratio: float,
    churn: float | None,
    base_churn: float | None,
) -> str:
    """high_value, high_potential, maintain or win_back from value and trend.

    - win_back: lapsing — mean days since the last order ≥ 2× the base's, or mean churn
      probability ≥ 1.5× the base's;
    - high_value: mean spend in the last 365 days ≥ 1.5× the base's;
    - high_potential: young relationship (mean tenure ≤ 0.5× the base's) or spend within
      [0.75, 1.5) of the base's and churn below the base;
    - maintain: the rest.
    """
    lapsing = recency_ratio >= 2.0
    if churn is not None and base_churn:
        lapsing = lapsing or churn >= 1.5 * base_churn
    if lapsing:
        return "win_back"
    if value_index >= 1.5:
        return "high_value"
    if tenure_ratio <= 0.5:
        return "high_potential"
    if churn is not None and base_churn and value_index >= 0.75 and churn < base_churn:
        return "high_potential"
    return "maintain"
