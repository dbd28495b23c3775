"""The commented starter project `segmint init` writes."""

STARTER_PROJECT = """\
# segmint project file. Reference: docs/project-file.md; JSON Schema: `segmint schema`.
name: my-shop

# Analysis time (UTC). Leave it out to use the time of each run.
# as_of: 2026-11-01T00:00:00

# Where tables live. The default is one embedded DuckDB file next to this file.
warehouse:
  engine: duckdb
  path: warehouse.duckdb
  # engine: spark              # Spark, local or on a cluster
  # master: local[2]
  # engine: ibis               # any other Ibis backend
  # url: postgres://user:pass@host/db

# Data-quality thresholds (the report marks each source and field pass/fail).
quality:
  completeness_min: 0.95       # share of non-empty values in required fields
  validity_min: 0.98           # share of present values that pass their rules
  freshness_max_hours: 24      # newest record vs the as-of time
  future_tolerance_hours: 24   # timestamps later than as_of + this are rejected

# Which identifiers link records into one customer, and the hub guard.
identity:
  identifiers: [member_id, phone, email]
  max_partners_per_identifier: 20

# Inputs. Each maps its own columns onto a canonical entity (docs/data-model.md):
# customers, orders, order_items, events, service_interactions, survey_answers,
# campaign_responses, consent.
sources:
  - name: crm_members
    entity: customers
    path: data/members.csv     # a file or a glob (data/members_*.csv)
    encoding: auto             # auto | utf-8 | utf-8-sig | gbk | gb18030
    timezone: Asia/Shanghai    # zone of timestamps that carry no offset
    columns:
      customer_key: member_no
      member_id: member_no
      phone: mobile
      email: email
      gender: {from: sex, values: {男: M, 女: F}}
      birth_date: {from: birthday, on_invalid: "null"}   # keep the row, blank a bad value

  - name: store_orders
    entity: orders
    path: data/pos_export.csv
    encoding: gbk
    columns:
      order_id: 小票号
      phone: 手机号
      ordered_at: 下单时间
      amount: 实付金额
"""
